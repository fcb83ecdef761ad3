//! The runtime of the reference servers, shared by `noauth` and `jwt-authorizer-ref`
//! (`#[path]`-included): the axum example's rule, so the runtime is the same on both
//! sides of every ratio — on one CPU (load.sh pins every server to one) tokio's
//! single-threaded runtime, else the multi-threaded one.

pub fn block_on<F: std::future::Future>(server: F) -> F::Output {
    let one_cpu = std::thread::available_parallelism().is_ok_and(|n| n.get() == 1);
    let mut builder = if one_cpu {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    builder.enable_all().build().expect("tokio runtime").block_on(server)
}
