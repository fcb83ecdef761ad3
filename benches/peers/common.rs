//! What the reference servers `noauth` and `jwt-authorizer-ref` share (`#[path]`-included):
//! the example servers' route table and their runtime rule.

/// The areas of the example servers: name, title (their pages' heading), path, prefix?
pub const AREAS: &[(&str, &str, &str, bool)] = &[
    ("overview", "Overview", "/overview", false),
    ("customers", "Customers", "/commerce", true),
    ("support-customer-requests", "Support > Customer requests", "/dashboard/v2/support/customers", true),
    ("billing", "Billing", "/billing", true),
    ("security-workspace", "Security workspace", "/security", true),
    ("catalog-api", "Catalog API", "/v1/catalog", true),
    ("customers-api", "Customers API", "/v1/customers", true),
];

/// The axum example's rule, so the runtime is the same on both sides of every ratio:
/// on one CPU (load.sh pins every server to one) tokio's single-threaded runtime,
/// else the multi-threaded one.
pub fn block_on<F: std::future::Future>(server: F) -> F::Output {
    let one_cpu = std::thread::available_parallelism().is_ok_and(|n| n.get() == 1);
    let mut builder = if one_cpu {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    builder.enable_all().build().expect("tokio runtime").block_on(server)
}
