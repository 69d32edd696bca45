//! A local HubSpot-compatible CRM and provider emulators with demo data.

pub mod emulators;
