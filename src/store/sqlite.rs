//! SQLite results store (embedded default).
