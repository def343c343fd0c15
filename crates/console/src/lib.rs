//! redis-cli behaviour for consoles (being written).
