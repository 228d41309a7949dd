namespace Chat.Domain

/// A token bucket: `rate` tokens a second, bursts of `2 * rate`. Time comes in as an argument.
type TokenBucket = { Tokens: float; AtMs: int64 }

module TokenBucket =
    let full (rate: int) (nowMs: int64) = {
        Tokens = float (2 * rate)
        AtMs = nowMs
    }

    /// Takes one token; None when the bucket is empty. A rate of 0 means no limit.
    let take (rate: int) (nowMs: int64) (b: TokenBucket) : TokenBucket option =
        if rate <= 0 then
            Some b
        else
            let elapsed = float (max 0L (nowMs - b.AtMs)) / 1000.0
            let tokens = min (float (2 * rate)) (b.Tokens + elapsed * float rate)
            // The clock never goes back for the bucket: an earlier `nowMs` must not rewind `AtMs`,
            // or the same interval would be refilled again.
            if tokens >= 1.0 then
                Some {
                    Tokens = tokens - 1.0
                    AtMs = max nowMs b.AtMs
                }
            else
                None
