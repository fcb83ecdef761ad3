//! [`MfaLayer`]: applies [`MfaService`] to a service.

use mfa_guard_core::{BuildError, Guard, Requirement};
use tower_layer::Layer;

use crate::MfaService;

/// Protects a service with a [`Guard`].
///
/// [`MfaLayer::new`] applies the guard's route table (e.g. the Partner Center
/// preset) to every request; [`MfaLayer::require`] applies one requirement, for
/// `route_layer` next to the routes it protects.
#[derive(Clone, Debug)]
#[must_use]
pub struct MfaLayer {
    guard: Guard,
}

impl MfaLayer {
    /// Checks every request against `guard`'s route policy.
    pub fn new(guard: Guard) -> Self {
        Self { guard }
    }

    /// Checks every request against `requirement`, with `guard`'s keys and settings.
    /// Fails when the requirement names a role the guard's role map does not define.
    pub fn require(guard: &Guard, requirement: Requirement) -> Result<Self, BuildError> {
        Ok(Self { guard: guard.for_requirement(&requirement)? })
    }

    /// The guard.
    pub fn guard(&self) -> &Guard {
        &self.guard
    }
}

impl<S> Layer<S> for MfaLayer {
    type Service = MfaService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MfaService::new(inner, self.guard.clone())
    }
}
