namespace Chat.Server.Tests

open System
open System.Diagnostics
open System.Threading
open Expecto
open Chat.Testing

/// Redis killed under a running server: every command that needs it answers `ERR UNAVAILABLE`
/// within a second, for as long as the outage lasts (past the client's 2 s sync and backlog
/// timeouts), and after Redis is back each message arrives once (nothing subscribed twice).
module FailFastTests =
    let private second = TimeSpan.FromSeconds 1.0

    /// The reply to `line`, and how long it took.
    let private timed (send: unit -> string) =
        let clock = Stopwatch.StartNew()
        let reply = send ()
        reply, clock.Elapsed

    [<Tests>]
    let tests =
        // One instance on a Redis of its own, which the tests kill.
        ClusterSuite.perTest "FailFastTests" [
            case "while Redis is down, commands that need it answer ERR UNAVAILABLE within a second"
            <| fun (t: ClusterPerTest) ->
                let redis = t.NewRedis()
                let c = t.NewCluster(redis.Configuration, 1, [ "--msg-rate"; "0" ], "fast")
                let ann, an = c.User(1, "ann")
                let bob, _ = c.User(1, "bob")
                redis.Kill()
                let outage = Stopwatch.StartNew()
                let mutable probes = 0

                // Probes spread over 3 s: longer than the client's sync timeout (2 s), after which
                // a backlogged command would have failed.
                while outage.Elapsed < TimeSpan.FromSeconds 3.0 do
                    probes <- probes + 1

                    let reply, took =
                        if probes % 3 = 0 then
                            timed (fun () ->
                                ann.Send $"a room message {probes}"
                                ann.ExpectPrefix("ERR ", second))
                        else
                            timed (fun () -> ann.Command("/who", second))

                    Expect.stringStarts reply "ERR UNAVAILABLE " $"probe {probes} at {outage.Elapsed}"
                    Expect.isLessThan took second $"probe {probes}: answered within a second"
                    Expect.equal (ann.Command "/ping") "OK PONG" "what needs no Redis still works"
                    // Pacing the probes over the outage, not waiting for a result.
                    Thread.Sleep 200

                redis.Restart()

                Poll.until (TimeSpan.FromSeconds 20.0) "service back" (fun () ->
                    (ann.Command "/who").StartsWith "OK WHO lobby")

                Poll.until (TimeSpan.FromSeconds 20.0) "both sessions written back" (fun () ->
                    (ann.Command "/who").Split(' ').Length = 5)

                ann.Send "after the outage"
                bob.ExpectMatch((Lines.isMsgFrom an), "ann's message") |> ignore
                ann.ExpectMatch((Lines.isMsgFrom an), "ann's own copy") |> ignore

                for client in [ ann; bob ] do
                    client.Sync()
                    Expect.isEmpty (client.TakeAll(Lines.isMsgFrom an)) $"[{client.Name}] no second copy"

            case "a command in flight when Redis dies answers ERR UNAVAILABLE within a second of it"
            <| fun (t: ClusterPerTest) ->
                let redis = t.NewRedis()
                let c = t.NewCluster(redis.Configuration, 1, [], "flight")
                let ann, _ = c.User(1, "ann")
                // Redis stalls (the connection stays up), so the next command waits for its answer.
                let stalled = redis.DebugSleep 10
                ann.Send "/who"
                // Time for the command to reach Redis; were it not there yet, it would fail at
                // once after the kill, and this test would pass without telling anything.
                Thread.Sleep 300
                Expect.isFalse stalled.IsCompleted "Redis still asleep"
                redis.Kill()
                let clock = Stopwatch.StartNew()
                let reply = ann.NextReply(TimeSpan.FromSeconds 5.0)
                Expect.stringStarts reply "ERR UNAVAILABLE " "the command in flight"
                Expect.isLessThan clock.Elapsed second "answered within a second of Redis' death"
        ]
