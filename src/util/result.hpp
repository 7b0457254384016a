#pragma once
// Result<T>: std::expected's shape, for g++ 12 under -std=c++20 (which lacks std::expected).
// Moving to std::expected later is one alias swap: keep to the subset it has.

#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

namespace offsite {

template <class E> class Unexpected {
public:
  explicit Unexpected(E error) : m_error(std::move(error)) {}
  E& error() & { return m_error; }
  const E& error() const& { return m_error; }
  E&& error() && { return std::move(m_error); }

private:
  E m_error;
};

template <class E> Unexpected(E) -> Unexpected<E>;

template <class T, class E> class Expected {
public:
  using value_type = T;
  using error_type = E;

  Expected() requires std::is_default_constructible_v<T> : m_state(std::in_place_index<0>) {}
  Expected(T value) : m_state(std::in_place_index<0>, std::move(value)) {}
  template <class U>
  requires(std::is_constructible_v<T, U&&> && !std::is_same_v<std::remove_cvref_t<U>, Expected> &&
           !std::is_same_v<std::remove_cvref_t<U>, T>) Expected(U&& value)
      : m_state(std::in_place_index<0>, T(std::forward<U>(value))) {}
  template <class G>
  Expected(Unexpected<G> unexpected) : m_state(std::in_place_index<1>, E(std::move(unexpected).error())) {}

  bool has_value() const { return m_state.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { return checked_value(); }
  const T& value() const& { return const_cast<Expected*>(this)->checked_value(); }
  T&& value() && { return std::move(checked_value()); }
  T& operator*() & { return checked_value(); }
  const T& operator*() const& { return const_cast<Expected*>(this)->checked_value(); }
  T&& operator*() && { return std::move(checked_value()); }
  T* operator->() { return &checked_value(); }
  const T* operator->() const { return &const_cast<Expected*>(this)->checked_value(); }

  E& error() & { return checked_error(); }
  const E& error() const& { return const_cast<Expected*>(this)->checked_error(); }
  E&& error() && { return std::move(checked_error()); }

  template <class U> T value_or(U&& fallback) const& {
    return has_value() ? std::get<0>(m_state) : static_cast<T>(std::forward<U>(fallback));
  }

private:
  T& checked_value() {
    assert(has_value() && "Expected::value() on an error");
    return std::get<0>(m_state);
  }
  E& checked_error() {
    assert(!has_value() && "Expected::error() on a value");
    return std::get<1>(m_state);
  }
  std::variant<T, E> m_state;
};

template <class E> class Expected<void, E> {
public:
  using value_type = void;
  using error_type = E;

  Expected() = default;
  template <class G> Expected(Unexpected<G> unexpected) : m_error(E(std::move(unexpected).error())), m_failed(true) {}

  bool has_value() const { return !m_failed; }
  explicit operator bool() const { return has_value(); }
  void value() const { assert(has_value()); }
  void operator*() const { assert(has_value()); }

  E& error() & { return checked_error(); }
  const E& error() const& { return const_cast<Expected*>(this)->checked_error(); }
  E&& error() && { return std::move(checked_error()); }

private:
  E& checked_error() {
    assert(m_failed && "Expected::error() on a value");
    return m_error;
  }
  E m_error{};
  bool m_failed = false;
};

} // namespace offsite
