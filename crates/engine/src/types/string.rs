//! String value helpers shared by the string and bit families.
