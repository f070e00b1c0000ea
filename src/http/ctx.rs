//! Per-request storage: [`Ctx`], Sanic's `request.ctx`, typed.
//!
//! Middleware fills it, handlers and response middleware read it. It is
//! shared (an `Rc`) between the request and the view response middleware
//! get, so what a request middleware stored is still there after the
//! handler consumed the request. One value per type; the map is a short
//! vector because a request rarely carries more than a few values.

use std::any::{Any, TypeId};
use std::cell::{OnceCell, RefCell};
use std::fmt;
use std::rc::Rc;

/// (type, value) pairs.
type Values = Vec<(TypeId, Rc<dyn Any>)>;

/// Typed values attached to one request (one per type).
///
/// # Examples
///
/// ```
/// use sanio::{Method, Request};
///
/// #[derive(Clone, Debug, PartialEq)]
/// struct User(String);
///
/// let request = Request::new(Method::Get, "/");
/// request.ctx().insert(User("ada".into()));
/// assert_eq!(request.ctx().get::<User>(), Some(User("ada".into())));
/// assert!(request.ctx().get::<u32>().is_none());
/// ```
#[derive(Default)]
pub struct Ctx {
    /// (type, value) pairs, allocated on first insert or clone (most
    /// requests never touch their ctx and pay nothing).
    values: OnceCell<Rc<RefCell<Values>>>,
}

impl Clone for Ctx {
    /// Another handle on the same values.
    fn clone(&self) -> Ctx {
        Ctx {
            values: OnceCell::from(Rc::clone(self.shared())),
        }
    }
}

impl Ctx {
    /// Stores `value`, replacing any value of the same type.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = sanio::http::Ctx::default();
    /// ctx.insert(1u8);
    /// ctx.insert(2u8);
    /// assert_eq!(ctx.get::<u8>(), Some(2));
    /// ```
    pub fn insert<T: 'static>(&self, value: T) {
        let value: Rc<dyn Any> = Rc::new(value);
        let id = TypeId::of::<T>();
        // The old value is dropped after the borrow ends.
        let _old = {
            let mut values = self.shared().borrow_mut();
            match values.iter_mut().find(|(t, _)| *t == id) {
                Some((_, slot)) => Some(std::mem::replace(slot, value)),
                None => {
                    values.push((id, value));
                    None
                }
            }
        };
    }

    /// A copy of the value of type `T`, if one was stored.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = sanio::http::Ctx::default();
    /// ctx.insert(String::from("req-1"));
    /// assert_eq!(ctx.get::<String>().as_deref(), Some("req-1"));
    /// ```
    pub fn get<T: Clone + 'static>(&self) -> Option<T> {
        self.with(|value: &T| value.clone())
    }

    /// Calls `f` with the value of type `T`, if one was stored (for values
    /// that are not `Clone`).
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = sanio::http::Ctx::default();
    /// ctx.insert(vec![1, 2, 3]);
    /// assert_eq!(ctx.with(|v: &Vec<i32>| v.len()), Some(3));
    /// ```
    pub fn with<T: 'static, R>(&self, f: impl FnOnce(&T) -> R) -> Option<R> {
        // The value is taken out of the map first, so `f` may use the ctx.
        let value = {
            let values = self.values.get()?.borrow();
            let id = TypeId::of::<T>();
            let (_, value) = values.iter().find(|(t, _)| *t == id)?;
            Rc::clone(value)
        };
        value.downcast_ref::<T>().map(f)
    }

    /// Removes the value of type `T`; true if there was one.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = sanio::http::Ctx::default();
    /// ctx.insert(5u16);
    /// assert!(ctx.remove::<u16>());
    /// assert!(!ctx.remove::<u16>());
    /// ```
    pub fn remove<T: 'static>(&self) -> bool {
        let Some(values) = self.values.get() else {
            return false;
        };
        let removed = {
            let mut values = values.borrow_mut();
            let id = TypeId::of::<T>();
            values
                .iter()
                .position(|(t, _)| *t == id)
                .map(|index| values.swap_remove(index))
        };
        removed.is_some()
    }

    /// True if a value of type `T` is stored.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = sanio::http::Ctx::default();
    /// ctx.insert(true);
    /// assert!(ctx.contains::<bool>());
    /// ```
    pub fn contains<T: 'static>(&self) -> bool {
        let id = TypeId::of::<T>();
        self.values
            .get()
            .is_some_and(|values| values.borrow().iter().any(|(t, _)| *t == id))
    }

    /// The shared values, allocated on first use.
    fn shared(&self) -> &Rc<RefCell<Values>> {
        self.values.get_or_init(Rc::default)
    }
}

impl fmt::Debug for Ctx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ctx")
            .field("values", &self.values.get().map_or(0, |v| v.borrow().len()))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::Ctx;

    #[test]
    fn clones_share_values_whenever_they_were_made() {
        let ctx = Ctx::default();
        assert!(ctx.values.get().is_none(), "nothing allocated yet");
        assert_eq!(ctx.get::<u8>(), None);
        assert!(!ctx.remove::<u8>());
        let early = ctx.clone();
        ctx.insert(1u8);
        assert_eq!(early.get::<u8>(), Some(1));
        let late = ctx.clone();
        late.insert(2u8);
        assert_eq!(ctx.get::<u8>(), Some(2));
        // `with` may use the ctx inside its closure.
        assert_eq!(ctx.with(|v: &u8| ctx.insert(*v + 1)), Some(()));
        assert_eq!(early.get::<u8>(), Some(3));
    }
}
