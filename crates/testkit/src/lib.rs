//! Test machinery for `wazzup-user-sync`, kept out of the Lambda function: a faithful Wazzup
//! fake ([`fake`]), the function's handler served over plain HTTP on loopback ([`serve`]), the
//! Lambda events of `events/` read from files ([`events`]), and `moto_server` as a local AWS
//! ([`moto`]). Used by the tests, the benchmarks and the local runner; never by the function.

pub mod events;
pub mod fake;
pub mod moto;
pub mod serve;
