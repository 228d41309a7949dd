/// How long to wait before each reconnect attempt. Pure: the random draw is an argument, so a schedule can be
/// tested exactly.
module Chat.Client.Backoff

open System

/// `First` is the ceiling of the first attempt's wait; it doubles with each attempt up to `Cap`.
type Policy = { First: TimeSpan; Cap: TimeSpan }

let defaults = {
    First = TimeSpan.FromSeconds 0.5
    Cap = TimeSpan.FromSeconds 30.0
}

/// The longest wait before attempt `attempt` (1 for the first): First * 2^(attempt-1), at most Cap.
let ceiling (policy: Policy) (attempt: int) : TimeSpan =
    // Past 2^62 ticks the doubling would overflow; any cap is reached long before.
    let doublings = min (max (attempt - 1) 0) 62
    let ticks = float policy.First.Ticks * Math.Pow(2.0, float doublings)

    if ticks >= float policy.Cap.Ticks then
        policy.Cap
    else
        TimeSpan.FromTicks(int64 ticks)

/// "Full jitter": anywhere between zero and the ceiling, so that clients cut off together by one server restart
/// do not all come back at the same instant. `draw` is uniform in [0, 1).
let delay (policy: Policy) (draw: float) (attempt: int) : TimeSpan =
    let draw = min (max draw 0.0) 1.0
    TimeSpan.FromTicks(int64 (float (ceiling policy attempt).Ticks * draw))
