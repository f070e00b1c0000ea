//! Socket-level tests of the connection driver.
