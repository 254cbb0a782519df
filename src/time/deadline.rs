//! Deadlines: how user-given seconds become points on the runtime clock.
//!
//! A `Timeout` is what a Waiter or a scope was created with; it becomes a `Deadline` (an instant on
//! the runtime clock) only when the scheduler takes the wait or the scope is entered, using the
//! clock of the runtime that runs it. So a Waiter created in one place and yielded later waits for
//! its full delay from the moment it is yielded, and a virtual clock applies to every deadline.

use std::time::{Duration, Instant};

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt};

use super::{instant_at, Clock};

/// A hundred years: what "later than the clock can count" becomes.
const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 100);

/// A timeout as given by the user, not yet placed on a clock.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Timeout {
    Never,
    After(Duration),
    /// An absolute point on the runtime clock (`time.interval`, `sleep_until`).
    At(Instant),
}

impl Timeout {
    /// Parses a user-supplied number of seconds (`what` names the argument in error messages).
    /// None and infinity mean never; negative values mean now.
    pub(crate) fn after(seconds: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Self> {
        let Some(seconds) = seconds.filter(|value| !value.is_none()) else {
            return Ok(Self::Never);
        };
        Ok(match seconds_value(seconds, what)? {
            value if value.is_infinite() => Self::Never,
            value => {
                Self::After(Duration::try_from_secs_f64(value.max(0.0)).unwrap_or(Duration::MAX))
            }
        })
    }

    /// An absolute time in runtime-clock seconds (as `time()` gives them).
    pub(crate) fn at(seconds: &Bound<'_, PyAny>, what: &str) -> PyResult<Self> {
        Ok(match seconds_value(seconds, what)? {
            value if value.is_infinite() => Self::Never,
            value => Self::At(instant_at(value)),
        })
    }

    /// The earlier (`earliest`) or the later of two timeouts, as `|` and `&` of Waiters combine
    /// theirs. Relative and absolute timeouts are compared on the real clock as of now.
    pub(crate) fn combine(self, other: Self, earliest: bool) -> Self {
        let absolute = |timeout: Self, now: Instant| match timeout {
            Self::Never => None,
            Self::At(at) => Some(at),
            Self::After(delay) => Some(now.checked_add(delay).unwrap_or(now + FAR_FUTURE)),
        };
        match (self, other) {
            (Self::Never, other) | (other, Self::Never) => {
                if earliest {
                    other
                } else {
                    Self::Never
                }
            }
            (Self::After(a), Self::After(b)) => {
                Self::After(if earliest { a.min(b) } else { a.max(b) })
            }
            (a, b) => {
                let now = Instant::now();
                let (first, second) = (absolute(a, now), absolute(b, now));
                let pick_first = if earliest {
                    first <= second
                } else {
                    first >= second
                };
                if pick_first {
                    a
                } else {
                    b
                }
            }
        }
    }

    /// Places the timeout on `clock`, counting from now.
    pub(crate) fn deadline(self, clock: &Clock) -> Deadline {
        match self {
            Self::Never => Deadline::NEVER,
            _ => self.deadline_from(Some(clock.now())),
        }
    }

    /// Places the timeout on the clock that read `now` (which must be `Some` unless the
    /// timeout is `Never`).
    pub(crate) fn deadline_from(self, now: Option<Instant>) -> Deadline {
        match (self, now) {
            (Self::Never, _) | (_, None) => Deadline::NEVER,
            (Self::At(at), _) => Deadline(Some(at)),
            (Self::After(delay), Some(now)) => {
                Deadline(Some(now.checked_add(delay).unwrap_or(now + FAR_FUTURE)))
            }
        }
    }
}

/// When a wait gives up, on the runtime clock. `None`: never.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadline(pub(crate) Option<Instant>);

impl Deadline {
    pub(crate) const NEVER: Deadline = Deadline(None);
}

/// A number of seconds: int or float (not bool), not NaN (infinity is allowed and means never).
fn seconds_value(seconds: &Bound<'_, PyAny>, what: &str) -> PyResult<f64> {
    let number = seconds.is_instance_of::<PyFloat>() || seconds.is_instance_of::<PyInt>();
    if !number || seconds.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err(format!(
            "{what} must be a number of seconds, not {}",
            seconds.get_type().name()?
        )));
    }
    let value: f64 = seconds.extract()?;
    if value.is_nan() {
        return Err(PyValueError::new_err(format!("{what} must not be NaN")));
    }
    if value.is_infinite() && value < 0.0 {
        return Ok(0.0);
    }
    Ok(value)
}
