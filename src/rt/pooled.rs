//! Boxed futures whose boxes are used again.
//!
//! A future kept behind a trait object needs a box, and a server that boxes
//! one future per request asks the allocator for one block per request. A
//! [`PooledFuture`] is such a box that, when dropped, goes back to a
//! per-thread pool of boxes *of its concrete future type* instead of being
//! freed; the next future of that type is written into it in place.
//!
//! How, in safe Rust: the box holds an `Option<F>`. It is handed around as
//! `Pin<Box<dyn Slot<T>>>`, a trait object whose methods know the concrete
//! `F`: one polls the future, the other (`recycle`, whose receiver is the
//! box itself) empties the slot with `Pin::set(None)` (the future is
//! dropped where it lies, as pinning requires) and files the box in the
//! pool under `F`'s `TypeId`. Taking a box out is the reverse: find the
//! list for `F`, pop, and `set(Some(future))`. The cost is a small hash
//! look-up where there was a `malloc` and a `free`.

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Most spare boxes kept per future type and thread.
const MAX_SPARE: usize = 64;

/// The largest future whose box is kept: a bigger one (a handler holding a
/// large buffer inline) is freed, so the pool holds at most
/// `MAX_SPARE * MAX_POOLED_BYTES` per future type and thread.
const MAX_POOLED_BYTES: usize = 16 * 1024;

/// A future in a box, and the way back to the pool.
trait Slot<T> {
    /// Polls the future in the slot.
    fn poll_slot(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T>;

    /// Drops the future in place and files the empty box in the pool.
    fn recycle(self: Pin<Box<Self>>);
}

impl<F: Future + 'static> Slot<F::Output> for Option<F> {
    fn poll_slot(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        match self.as_pin_mut() {
            Some(future) => future.poll(cx),
            // INVARIANT: a slot is polled only while it holds a future.
            None => Poll::Pending,
        }
    }

    fn recycle(mut self: Pin<Box<Self>>) {
        // The future's destructor runs here, before the pool is borrowed:
        // it may drop pooled futures of its own.
        self.set(None);
        if std::mem::size_of::<Option<F>>() > MAX_POOLED_BYTES {
            return; // freed
        }
        // Ignored (the box is freed) while the thread is being torn down.
        let _ = SPARE.try_with(|spare| {
            let mut spare = spare.borrow_mut();
            let list = spare
                .entry(TypeId::of::<F>())
                .or_insert_with(|| Box::new(Vec::<Pin<Box<Option<F>>>>::new()));
            if let Some(list) = list.downcast_mut::<Vec<Pin<Box<Option<F>>>>>() {
                if list.len() < MAX_SPARE {
                    list.push(self);
                }
            }
        });
    }
}

/// Empty boxes by future type: each value is a `Vec<Pin<Box<Option<F>>>>`.
type Spare = super::IdHashMap<TypeId, Box<dyn Any>>;

thread_local! {
    /// This thread's spare boxes.
    static SPARE: RefCell<Spare> = RefCell::new(Spare::default());
}

/// A boxed, type-erased future whose box is used again: dropping it (when
/// it is done or given up) returns the box to a per-thread pool, and the
/// next [`PooledFuture::new`] of the same future type on that thread takes
/// it instead of allocating. A handler's future is one of these, so a warm
/// loop answers requests without allocating for them.
///
/// It is `Unpin` and need not be `Send`, like `Pin<Box<dyn Future>>`.
/// Dropping it drops the future.
///
/// # Examples
///
/// ```
/// use sanio::rt::{PooledFuture, Runtime};
///
/// // Every call makes a future of the same type (one `async` block).
/// fn double(n: u32) -> PooledFuture<u32> {
///     PooledFuture::new(async move { n * 2 })
/// }
///
/// let rt = Runtime::new().unwrap();
/// let total = rt.block_on(async {
///     let mut total = 0;
///     for n in 1..=3 {
///         // From the second call on, the box of the one before is reused.
///         total += double(n).await;
///     }
///     total
/// });
/// assert_eq!(total, 12);
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct PooledFuture<T> {
    /// The box; `None` only while it is being dropped.
    slot: Option<Pin<Box<dyn Slot<T>>>>,
}

impl<T: 'static> PooledFuture<T> {
    /// Puts `future` in a box from this thread's pool, or in a new one.
    ///
    /// # Examples
    ///
    /// ```
    /// let future = sanio::rt::PooledFuture::new(async { "hi" });
    /// # drop(future);
    /// ```
    pub fn new<F: Future<Output = T> + 'static>(future: F) -> PooledFuture<T> {
        let spare = SPARE
            .try_with(|spare| {
                spare
                    .borrow_mut()
                    .get_mut(&TypeId::of::<F>())
                    .and_then(|list| list.downcast_mut::<Vec<Pin<Box<Option<F>>>>>())
                    .and_then(Vec::pop)
            })
            .ok()
            .flatten();
        let mut slot = spare.unwrap_or_else(|| Box::pin(None));
        slot.as_mut().set(Some(future));
        PooledFuture { slot: Some(slot) }
    }
}

impl<T> Future for PooledFuture<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match self.slot.as_mut() {
            Some(slot) => slot.as_mut().poll_slot(cx),
            None => Poll::Pending,
        }
    }
}

impl<T> Drop for PooledFuture<T> {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            slot.recycle();
        }
    }
}

impl<T> fmt::Debug for PooledFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PooledFuture").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    /// Polls a future that is ready at once.
    fn ready<T>(mut future: PooledFuture<T>) -> T {
        let waker = futures_task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        match Pin::new(&mut future).poll(&mut cx) {
            Poll::Ready(value) => value,
            Poll::Pending => panic!("not ready"),
        }
    }

    /// The same future type twice, one after the other.
    fn make(n: u32) -> PooledFuture<u32> {
        PooledFuture::new(async move { n * 2 })
    }

    #[test]
    fn a_dropped_box_is_used_again_and_the_future_dropped_in_it() {
        let first = make(1);
        let address = |f: &PooledFuture<u32>| {
            f.slot
                .as_ref()
                .map(|s| &**s as *const dyn Slot<u32> as *const u8)
        };
        let first_box = address(&first);
        assert_eq!(ready(first), 2);
        let second = make(2);
        assert_eq!(address(&second), first_box, "the box was reused");
        assert_eq!(ready(second), 4);

        // A future dropped before it ends drops what it holds.
        let held = Rc::new(());
        let probe = Rc::clone(&held);
        let pending = PooledFuture::new(async move {
            let _keep = probe;
            std::future::pending::<()>().await;
        });
        assert_eq!(Rc::strong_count(&held), 2);
        drop(pending);
        assert_eq!(Rc::strong_count(&held), 1);
    }

    #[test]
    fn a_large_future_is_not_kept() {
        fn type_of<F: 'static>(_: &F) -> TypeId {
            TypeId::of::<F>()
        }
        let large = async {
            let buffer = [7u8; MAX_POOLED_BYTES + 1];
            std::future::ready(()).await;
            buffer[MAX_POOLED_BYTES]
        };
        let small = async { 7u8 };
        let (large_type, small_type) = (type_of(&large), type_of(&small));
        assert_eq!(ready(PooledFuture::new(large)), 7);
        assert_eq!(ready(PooledFuture::new(small)), 7);
        let kept = |id| SPARE.with(|spare| spare.borrow().contains_key(&id));
        assert!(!kept(large_type), "a large future's box was kept");
        assert!(kept(small_type));
    }
}
