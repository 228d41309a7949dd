/// The reconnect schedule: doubling ceilings to the cap, full jitter under them.
module Chat.Client.Tests.BackoffTests

open System
open Expecto
open Chat.Client

let private s (x: float) = TimeSpan.FromSeconds x

[<Tests>]
let tests =
    testList "BackoffTests" [
        testCase "ceilings double from 0.5 s and stop at 30 s" (fun () ->
            let ceilings = [ 1..9 ] |> List.map (Backoff.ceiling Backoff.defaults)
            Expect.equal ceilings [ s 0.5; s 1; s 2; s 4; s 8; s 16; s 30; s 30; s 30 ] "the ceilings")

        testCase "a very late attempt is still the cap, not an overflow" (fun () ->
            Expect.equal (Backoff.ceiling Backoff.defaults 10_000) (s 30) "attempt 10000")

        testCase "the wait is the draw times the ceiling: zero to almost the ceiling" (fun () ->
            let p = Backoff.defaults
            Expect.equal (Backoff.delay p 0.0 3) TimeSpan.Zero "draw 0"
            Expect.equal (Backoff.delay p 0.5 3) (s 1) "draw 0.5 of 2 s"
            Expect.equal (Backoff.delay p 0.25 20) (s 7.5) "draw 0.25 of the cap")

        testCase "a draw outside [0, 1] is clamped" (fun () ->
            Expect.equal (Backoff.delay Backoff.defaults 7.0 1) (s 0.5) "above"
            Expect.equal (Backoff.delay Backoff.defaults -1.0 1) TimeSpan.Zero "below")

        testCase "the status line names the wait and the attempt" (fun () ->
            Expect.equal
                (Disconnect.retrying "connection lost" (TimeSpan.FromMilliseconds 2345.0) 3)
                "* connection lost; reconnecting in 2.3 s (attempt 3)"
                "the line")
    ]
