namespace Chat.Server.Tests

open System
open System.Diagnostics
open System.Net
open System.Net.Sockets
open Expecto
open Chat.Testing
open Chat.Domain
open Chat.Server
open Given

/// Instances and Redis going away and coming back. A redis-server of its own: these tests kill it.
module RedisRecoveryTests =
    [<Tests>]
    let tests =
        RedisSuite.tests "RedisRecoveryTests" [
            case "a dead server's sessions are swept and announced as left"
            <| fun (h: RedisHarness) ->
                let survivor = h.On "survivor"
                survivor.Listen h.Record
                let ann, annSid, den = user "ann", newSid (), room "den"
                login survivor ann annSid Reject |> ignore
                // The survivor has a member in den: it reads den's stream.
                Expect.isTrue (survivor.Move(ann, annSid, lobby, den)) "ann into den"
                let doomed = h.On "doomed"
                let bob, bobSid = user "bob", newSid ()
                login doomed bob bobSid Reject |> ignore
                doomed.Move(bob, bobSid, lobby, den) |> ignore
                Poll.until within "doomed registered" (fun () -> h.IsMember "chat:{index}:servers" "doomed")
                // It goes without releasing its session, as a crashed server would.
                doomed.Dispose()
                h.Get [ "DEL"; "chat:{s:doomed}:alive" ] |> ignore
                Expect.isTrue (h.IsMember "chat:{index}:servers" "doomed") "listed while it holds sessions"

                Poll.until (TimeSpan.FromSeconds 20.0) "bob's leave" (fun () ->
                    List.contains (BusEvent.Left(bob, bobSid, den)) h.Events)

                // The leave is the sweep's first step; the session and the online entry go after it.
                Poll.until within "bob's session and online entry gone" (fun () ->
                    h.Get [ "EXISTS"; "chat:{u:bob}:session" ] = "0" && survivor.Online() = [ ann ])

                Expect.equal (survivor.Rooms()) [ den, 1 ] "survivor.Rooms()"
                Poll.until within "doomed forgotten" (fun () -> not (h.IsMember "chat:{index}:servers" "doomed"))
                Expect.equal (h.Get [ "HGET"; "chat:{u:ann}:session"; "sid" ]) (SessionId.value annSid) "ann untouched"

            case "after a flush and a reconnect the local sessions are written again"
            <| fun (h: RedisHarness) ->
                let ann, annSid, den = user "ann", newSid (), room "den"
                let cat, catSid = user "cat", newSid ()
                let b = h.On("keeper", (fun () -> [ ann, annSid, den; cat, catSid, lobby ]))
                login b ann annSid Reject |> ignore
                b.Move(ann, annSid, lobby, den) |> ignore
                login b cat catSid Reject |> ignore
                h.Redis.FlushAll()
                // Meanwhile cat logged in elsewhere: that newer session must survive the re-write.
                h.Get [
                    "HSET"
                    "chat:{u:cat}:session"
                    "sid"
                    "newer"
                    "server"
                    "other"
                    "room"
                    "lobby"
                ]
                |> ignore

                h.Get [ "CLIENT"; "KILL"; "TYPE"; "normal" ] |> ignore

                Poll.until within "ann re-written" (fun () ->
                    h.Get [ "HGET"; "chat:{u:ann}:session"; "sid" ] = SessionId.value annSid)

                Expect.equal (h.Get [ "HGET"; "chat:{u:ann}:session"; "room" ]) "den" "ann's room"
                Poll.until within "ann back in den" (fun () -> h.Get [ "HEXISTS"; "chat:{r:den}:members"; "ann" ] = "1")

                for hash in [ "chat:{index}:online"; "chat:{s:keeper}:sessions" ] do
                    Expect.equal (h.Get [ "HEXISTS"; hash; "ann" ]) "1" hash

                Expect.isTrue
                    (h.IsMember "chat:{index}:rooms" "den"
                     && h.IsMember "chat:{index}:servers" "keeper")
                    "indexed again"

                Expect.equal (h.Get [ "EXISTS"; "chat:{s:keeper}:alive" ]) "1" "alive again"
                Expect.equal (h.Get [ "HGET"; "chat:{u:cat}:session"; "sid" ]) "newer" "the newer session of cat stays"
                Expect.equal (h.Get [ "HEXISTS"; "chat:{s:keeper}:sessions"; "cat" ]) "0" "cat is not kept's"

            case "while Redis is down calls fail fast with BackendUnavailable, and service resumes after"
            <| fun (h: RedisHarness) ->
                let ann, annSid = user "ann", newSid ()
                let b = h.On("phoenix", (fun () -> [ ann, annSid, lobby ]))
                b.Listen h.Record
                login b ann annSid Reject |> ignore

                let unavailable (f: unit -> unit) =
                    let clock = Stopwatch.StartNew()

                    let failed =
                        try
                            f ()
                            false
                        with BackendUnavailable _ ->
                            true

                    Expect.isLessThan clock.Elapsed (TimeSpan.FromSeconds 3.0) "never hangs"
                    failed

                h.Redis.Kill()
                Poll.until within "BackendUnavailable" (fun () -> unavailable (fun () -> b.Online() |> ignore))

                Expect.isTrue
                    (unavailable (fun () -> b.Claim(user "bob", newSid (), Reject) |> ignore))
                    "unavailable (fun () -> b.Claim(user 'bob', newSid (), Reject) |> ignore)"

                h.Redis.Restart()

                Poll.until (TimeSpan.FromSeconds 20.0) "ann restored" (fun () ->
                    try
                        b.Online() = [ ann ]
                    with BackendUnavailable _ ->
                        false)

                Poll.until within "the lobby's subscription restored" (fun () ->
                    h.Get [ "PUBSUB"; "SHARDNUMSUB"; "chat:{r:lobby}:events" ] = "chat:{r:lobby}:events\n1")

                let id = b.Say(lobby, ann, "back", now ()).Result
                h.WaitForEvents "Said after the restart" (List.contains (BusEvent.Said(lobby, id, ann, "back")))

            case "connect gives up on an unreachable Redis with a clear error"
            <| fun (_: RedisHarness) ->
                let listener = new TcpListener(IPAddress.Loopback, 0)
                listener.Start()
                let port = (listener.LocalEndpoint :?> IPEndPoint).Port
                listener.Stop()
                let clock = Stopwatch.StartNew()

                let error =
                    try
                        (RedisBackend.connect $"127.0.0.1:{port}" (TimeSpan.FromSeconds 1.0)).Dispose()
                        None
                    with RedisUnreachable _ as e ->
                        Some e.Message

                Expect.isLessThan clock.Elapsed (TimeSpan.FromSeconds 6.0) "clock.Elapsed"
                Expect.isSome error "error"
                Expect.stringContains error.Value $"127.0.0.1:{port}" "error.Value"
        ]
