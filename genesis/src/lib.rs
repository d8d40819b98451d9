//! The DeAI genesis file: parsing, validation and editing.
