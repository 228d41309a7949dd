namespace Chat.Testing

open System
open System.Diagnostics
open System.Threading

/// A failed expectation of the harness (a line that did not come, a reply that differs). Test
/// programs turn it into their framework's failure; scripts report it.
type ExpectationFailedException(message: string) =
    inherit Exception(message)

/// Waiting on a condition with a deadline: nothing sleeps a fixed time to pass.
module Poll =
    /// Checks `condition` until it holds, backing off from 5 ms to 200 ms; TimeoutException after `timeout`.
    let until (timeout: TimeSpan) (what: string) (condition: unit -> bool) =
        let clock = Stopwatch.StartNew()

        let rec go (delay: int) =
            if not (condition ()) then
                if clock.Elapsed > timeout then
                    raise (TimeoutException(sprintf "still waiting after %.1f s for %s" timeout.TotalSeconds what))

                Thread.Sleep delay
                go (min (delay * 2) 200)

        go 5

    /// Calls `pick` until it returns Some, with the back-off of `until`; TimeoutException after `timeout`.
    let untilSome (timeout: TimeSpan) (what: string) (pick: unit -> 'a option) : 'a =
        let mutable found = None

        until timeout what (fun () ->
            found <- pick ()
            found.IsSome)

        found.Value
