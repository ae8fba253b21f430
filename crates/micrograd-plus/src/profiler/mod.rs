//! The profiler: where the time of training goes, op by op, like
//! `torch.profiler`.
//!
//! [`enable`] starts recording on the calling thread and returns a
//! [`Profiler`]; its [`finish`](Profiler::finish) gives a [`Report`] with a
//! table of every op's forward and backward (calls, self and total time,
//! FLOPs and GFLOP/s where defined, bytes allocated), sorted by time like
//! `key_averages().table()`, and a Chrome trace that Perfetto and
//! `chrome://tracing` open. [`scope`] names a stretch of your own code
//! (`"data"`, `"optimizer.step"`), which then appears in both.
//!
//! How it measures, in two places only: every op ends in the one function
//! that records its output into the graph, and every backward rule runs in
//! the one loop of the backward pass.
//! - A backward rule is timed from just before to just after it runs.
//! - An op's forward is timed from the end of the previous event on the
//!   thread (an op, or a scope's start or end) to the moment its output is
//!   recorded, since nothing marks an op's start. Code between ops that is
//!   neither an op nor inside a scope is therefore charged to the next op:
//!   wrap such code in a [`scope`].
//! - Bytes allocated are the op's output (forward) or the gradients it
//!   returns (backward); scratch buffers inside kernels are not counted.
//!
//! When no profiler runs, the only cost is one thread-local flag read per
//! op and per backward pass, the same read that anomaly mode shares
//! ([`crate::tensor::anomaly`]).
//!
//! ```
//! use micrograd_plus::{profiler, Tensor};
//! let w = Tensor::ones(&[3, 2]).requires_grad(true);
//! let p = profiler::enable().unwrap();
//! {
//!     let _s = profiler::scope("step");
//!     let y = Tensor::ones(&[4, 3]).matmul(&w).unwrap().relu().sum();
//!     y.backward().unwrap();
//! }
//! let report = p.finish();
//! let matmul = report.key_averages().into_iter()
//!     .find(|s| s.name == "matmul" && s.pass == profiler::Pass::Forward).unwrap();
//! assert_eq!((matmul.calls, matmul.flops), (1, Some(2 * 4 * 2 * 3)));
//! println!("{}", report.table(10));
//! ```

mod flops;
mod report;
mod trace;

pub use report::{OpStats, Report};

use crate::{Error, Result};
use std::borrow::Cow;
use std::cell::RefCell;
use std::time::Instant;

/// Which part of the work an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Pass {
    /// An op computing its output.
    Forward,
    /// An op's backward rule, inside a backward pass.
    Backward,
    /// A named stretch of code: [`scope`], or the backward pass itself
    /// (`"backward"`: walking the graph and adding up gradients).
    Scope,
}

impl Pass {
    /// The word the table and the trace use.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::profiler::Pass::Backward.name(), "backward");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Pass::Forward => "forward",
            Pass::Backward => "backward",
            Pass::Scope => "scope",
        }
    }
}

/// One timed event; times in nanoseconds since the profiler started.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub(crate) name: Cow<'static, str>,
    pub(crate) pass: Pass,
    pub(crate) start_ns: u64,
    pub(crate) dur_ns: u64,
    /// `dur_ns` less the time of the events nested in it.
    pub(crate) self_ns: u64,
    pub(crate) flops: Option<u64>,
    pub(crate) bytes: u64,
}

/// Events kept before further ones are only counted (about 80 MB): a
/// profile is for a few steps, not a whole run.
const MAX_EVENTS: usize = 1 << 20;

struct State {
    origin: Instant,
    events: Vec<Event>,
    /// Open scopes and backward rules: index into `events` and the time of
    /// the events finished inside it so far.
    open: Vec<(usize, u64)>,
    /// Where the next op's forward time starts.
    last_ns: u64,
    dropped: u64,
}

impl State {
    fn now(&self) -> u64 {
        self.origin.elapsed().as_nanos() as u64
    }

    /// Adds a finished event nested in the innermost open one.
    fn push_closed(&mut self, event: Event) {
        if let Some((_, child_ns)) = self.open.last_mut() {
            *child_ns += event.dur_ns;
        }
        if self.events.len() < MAX_EVENTS {
            self.events.push(event);
        } else {
            self.dropped += 1;
        }
    }

    fn open(&mut self, name: Cow<'static, str>, pass: Pass) -> Option<usize> {
        let now = self.now();
        self.last_ns = now;
        if self.events.len() >= MAX_EVENTS {
            self.dropped += 1;
            return None;
        }
        self.events.push(Event {
            name,
            pass,
            start_ns: now,
            dur_ns: 0,
            self_ns: 0,
            flops: None,
            bytes: 0,
        });
        self.open.push((self.events.len() - 1, 0));
        Some(self.events.len() - 1)
    }

    fn close(&mut self, index: usize, flops: Option<u64>, bytes: u64) {
        let now = self.now();
        self.last_ns = now;
        // Events close in the reverse order they opened (guards and the
        // backward loop both nest), so the one to close is the innermost.
        let Some(pos) = self.open.iter().rposition(|&(i, _)| i == index) else {
            return;
        };
        let (_, child_ns) = self.open.remove(pos);
        let e = &mut self.events[index];
        e.dur_ns = now - e.start_ns;
        e.self_ns = e.dur_ns.saturating_sub(child_ns);
        e.flops = flops;
        e.bytes = bytes;
        let dur = e.dur_ns;
        if let Some((_, parent_child_ns)) = self.open.last_mut() {
            *parent_child_ns += dur;
        }
    }

    /// Whether the innermost open event is a backward rule: ops a rule
    /// runs are part of its own time, not events of their own.
    fn in_backward_rule(&self) -> bool {
        self.open
            .last()
            .is_some_and(|&(i, _)| self.events[i].pass == Pass::Backward)
    }
}

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
}

/// Whether a profiler records on this thread: the one check ops make.
#[inline(always)]
pub(crate) fn is_on() -> bool {
    crate::tensor::hooks::active() & crate::tensor::hooks::PROFILER != 0
}

/// Starts recording this thread's ops; [`Profiler::finish`] stops and
/// returns what was recorded. Only one profiler runs per thread at a time.
///
/// ```
/// let p = micrograd_plus::profiler::enable().unwrap();
/// assert!(micrograd_plus::profiler::enable().is_err());
/// assert_eq!(p.finish().key_averages().len(), 0);
/// ```
pub fn enable() -> Result<Profiler> {
    if is_on() {
        return Err(Error::argument(
            "profiler",
            "a profiler is already recording on this thread; finish it first",
        ));
    }
    STATE.with_borrow_mut(|s| {
        *s = Some(State {
            origin: Instant::now(),
            events: Vec::new(),
            open: Vec::new(),
            last_ns: 0,
            dropped: 0,
        })
    });
    crate::tensor::hooks::set(crate::tensor::hooks::PROFILER, true);
    Ok(Profiler {
        _not_send: std::marker::PhantomData,
    })
}

/// A running profiler (see [`enable`]). Dropping it without
/// [`finish`](Profiler::finish) stops recording and discards the events.
pub struct Profiler {
    /// Recording is per thread: the guard stays on the thread it began on.
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Profiler {
    /// Stops recording and returns the events as a [`Report`].
    ///
    /// ```
    /// use micrograd_plus::{profiler, Tensor};
    /// let p = profiler::enable().unwrap();
    /// let _a = Tensor::ones(&[2]).exp();
    /// let report = p.finish();
    /// let _b = Tensor::ones(&[2]).exp(); // after finish: not recorded
    /// assert_eq!(report.key_averages()[0].calls, 1);
    /// assert!(profiler::enable().is_ok()); // and another profiler may start
    /// ```
    pub fn finish(self) -> Report {
        stop().expect("a Profiler exists only while its state does")
    }
}

impl Drop for Profiler {
    fn drop(&mut self) {
        stop();
    }
}

/// Turns recording off and takes the state, closing scopes still open.
fn stop() -> Option<Report> {
    crate::tensor::hooks::set(crate::tensor::hooks::PROFILER, false);
    let mut state = STATE.with_borrow_mut(Option::take)?;
    while let Some(&(i, _)) = state.open.last() {
        state.close(i, None, 0);
    }
    let wall_ns = state.now();
    Some(Report::new(state.events, wall_ns, state.dropped))
}

/// Names the code until the returned guard drops: it appears in the table
/// (its self time is what its nested ops do not account for) and in the
/// trace. Costs one flag read when no profiler runs.
///
/// ```
/// use micrograd_plus::{profiler, Tensor};
/// let p = profiler::enable().unwrap();
/// {
///     let _s = profiler::scope("data");
///     let _x = Tensor::ones(&[2]) * 2.0;
/// }
/// let stats = p.finish().key_averages();
/// let data = stats.iter().find(|s| s.name == "data").unwrap();
/// assert_eq!((data.pass, data.calls), (profiler::Pass::Scope, 1));
/// ```
pub fn scope(name: impl Into<Cow<'static, str>>) -> Scope {
    Scope {
        index: is_on()
            .then(|| STATE.with_borrow_mut(|s| s.as_mut()?.open(name.into(), Pass::Scope)))
            .flatten(),
    }
}

/// A named stretch of code being timed (see [`scope`]).
pub struct Scope {
    index: Option<usize>,
}

impl Drop for Scope {
    fn drop(&mut self) {
        if let Some(i) = self.index {
            STATE.with_borrow_mut(|s| {
                if let Some(s) = s.as_mut() {
                    s.close(i, None, 0);
                }
            });
        }
    }
}

/// Records an op's forward: called where the op records its output, only
/// while [`is_on`].
pub(crate) fn record_forward(op: &'static str, inputs: &[&[usize]], out: &[usize], bytes: usize) {
    STATE.with_borrow_mut(|s| {
        let Some(s) = s.as_mut() else { return };
        if s.in_backward_rule() {
            return;
        }
        let now = s.now();
        let dur_ns = now.saturating_sub(s.last_ns);
        let event = Event {
            name: Cow::Borrowed(op),
            pass: Pass::Forward,
            start_ns: s.last_ns,
            dur_ns,
            self_ns: dur_ns,
            flops: flops::forward(op, inputs, out),
            bytes: bytes as u64,
        };
        s.push_closed(event);
        s.last_ns = now;
    });
}

/// A backward rule being timed (see [`begin_backward`]).
pub(crate) struct BackwardSpan(Option<usize>);

/// Starts timing `op`'s backward rule, only while [`is_on`].
pub(crate) fn begin_backward(op: &'static str) -> BackwardSpan {
    BackwardSpan(STATE.with_borrow_mut(|s| s.as_mut()?.open(Cow::Borrowed(op), Pass::Backward)))
}

impl BackwardSpan {
    /// Ends the span: `inputs` are the op's input shapes, `wants` which of
    /// them got a gradient, `bytes` the size of those gradients.
    pub(crate) fn end(self, inputs: &[&[usize]], out: &[usize], wants: &[bool], bytes: usize) {
        let Some(i) = self.0 else { return };
        STATE.with_borrow_mut(|s| {
            let Some(s) = s.as_mut() else { return };
            let op = s.events[i].name.clone();
            s.close(i, flops::backward(&op, inputs, out, wants), bytes as u64);
        });
    }
}
