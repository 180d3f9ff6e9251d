//! Fuzz targets for sighunt (see `targets`).
pub mod targets;
