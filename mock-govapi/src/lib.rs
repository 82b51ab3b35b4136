pub mod gov;
