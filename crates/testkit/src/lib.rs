//! Test machinery for `wazzup-user-sync`, kept out of the Lambda function: a faithful Wazzup
//! fake ([`fake`]), fakes of the users APIs the full sync reads ([`crm`]), the function's handler
//! served over plain HTTP on loopback ([`serve`]), the Lambda events of `events/` read from
//! files ([`events`]), `moto_server` as a local AWS ([`moto`]), CPU time from /proc
//! ([`proc_cpu`]), and a minimal Lambda Runtime API ([`runtime_api`]) for the cold-start bench
//! and the scheduled function's tests. Used by the tests, the benchmarks and the local runner;
//! never by the function.

pub mod crm;
pub mod events;
pub mod fake;
pub mod moto;
pub mod proc_cpu;
pub mod runtime_api;
pub mod serve;
