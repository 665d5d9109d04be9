//! Bitmap commands: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO.

use super::table::Command;

pub static COMMANDS: &[Command] = &[];
