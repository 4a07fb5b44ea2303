//! Tether supervisor library (work in progress).
