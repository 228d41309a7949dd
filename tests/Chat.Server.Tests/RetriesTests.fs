namespace Chat.Server.Tests

open System
open System.Threading
open Expecto
open Chat.Testing
open Chat.Server

/// The deferred-cleanup thread: an outage's cleanups are retried until they go through, and no
/// exception ends the thread (it is the only one that finishes them).
module RetriesTests =
    let private quiet () = Retries(Log LogLevel.Error)

    [<Tests>]
    let tests =
        testList "RetriesTests" [
            testCase "a cleanup that Redis refused is retried until it goes through"
            <| fun () ->
                let retries = quiet ()
                let mutable attempts = 0

                retries.Add(
                    "flaky",
                    fun () ->
                        if Interlocked.Increment &attempts < 3 then
                            raise (BackendUnavailable "down")
                )

                Poll.until (TimeSpan.FromSeconds 10.0) "the third attempt" (fun () -> Volatile.Read &attempts >= 3)
                Poll.until (TimeSpan.FromSeconds 5.0) "the queue empty" (fun () -> retries.Count = 0)

            testCase "a cleanup that throws something else is dropped, and the thread goes on with the next"
            <| fun () ->
                let retries = quiet ()
                let mutable broken = 0
                let mutable after = 0

                retries.Add(
                    "broken",
                    fun () ->
                        Interlocked.Increment &broken |> ignore
                        invalidOp "a bug, not an outage"
                )

                retries.Add("after", (fun () -> Interlocked.Increment &after |> ignore))

                Poll.until (TimeSpan.FromSeconds 10.0) "the cleanup after the broken one" (fun () ->
                    Volatile.Read &after = 1)
                // Queued again after it, a cleanup still runs: the thread is alive.
                retries.Add("later", (fun () -> Interlocked.Increment &after |> ignore))
                Poll.until (TimeSpan.FromSeconds 10.0) "a later cleanup" (fun () -> Volatile.Read &after = 2)
                Expect.equal (Volatile.Read &broken) 1 "the broken cleanup was tried once, not retried"
                Expect.equal retries.Count 0 "nothing left queued"
        ]
