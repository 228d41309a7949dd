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
            case "a dead server's sessions are swept and announced as Exited"
            <| fun (h: RedisHarness) ->
                let survivor = h.On "survivor"
                survivor.Listen h.Record
                let ann, annSid = user "ann", newSid ()
                survivor.Claim(ann, annSid, Reject) |> ignore
                let doomed = h.On "doomed"
                let bob, bobSid, den = user "bob", newSid (), room "den"
                doomed.Claim(bob, bobSid, Reject) |> ignore
                doomed.Move(bob, bobSid, lobby, den) |> ignore
                Poll.until within "doomed registered" (fun () -> h.IsMember "chat:servers" "doomed")
                // It goes without releasing its session, as a crashed server would.
                doomed.Dispose()
                h.Get [ "DEL"; "chat:server:doomed:alive" ] |> ignore
                Expect.isTrue (h.IsMember "chat:servers" "doomed") "listed while it holds sessions"

                Poll.until (TimeSpan.FromSeconds 20.0) "bob's Exited" (fun () ->
                    List.contains (BusEvent.Exited(bob, bobSid, den)) h.Events)

                Expect.equal (h.Get [ "EXISTS"; "chat:session:bob" ]) "0" "h.Get [ 'EXISTS'; 'chat:session:bob' ]"
                Expect.equal (survivor.Online()) ([ ann ]) "survivor.Online()"
                Expect.equal (survivor.Rooms()) ([ lobby, 1 ]) "survivor.Rooms()"
                Poll.until within "doomed forgotten" (fun () -> not (h.IsMember "chat:servers" "doomed"))

                Expect.equal
                    (h.Get [ "HGET"; "chat:session:ann"; "sid" ])
                    (SessionId.value annSid)
                    "h.Get [ 'HGET'; 'chat:session:ann'; 'sid' ]"

            case "after a flush and a reconnect the local sessions are written again"
            <| fun (h: RedisHarness) ->
                let ann, annSid, den = user "ann", newSid (), room "den"
                let cat, catSid = user "cat", newSid ()
                let b = h.On("keeper", (fun () -> [ ann, annSid, den; cat, catSid, lobby ]))
                b.Claim(ann, annSid, Reject) |> ignore
                b.Move(ann, annSid, lobby, den) |> ignore
                b.Claim(cat, catSid, Reject) |> ignore
                h.Redis.FlushAll()
                // Meanwhile cat logged in elsewhere: that newer session must survive the re-write.
                h.Get [
                    "HSET"
                    "chat:session:cat"
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
                    h.Get [ "HGET"; "chat:session:ann"; "sid" ] = SessionId.value annSid)

                Expect.equal
                    (h.Get [ "HGET"; "chat:session:ann"; "room" ])
                    "den"
                    "h.Get [ 'HGET'; 'chat:session:ann'; 'room' ]"

                for key in [ "chat:online"; "chat:room:den"; "chat:server:keeper:sessions" ] do
                    Expect.isTrue (h.IsMember key "ann") key

                Expect.isTrue
                    (h.IsMember "chat:rooms" "den" && h.IsMember "chat:servers" "keeper")
                    "h.IsMember 'chat:rooms' 'den' && h.IsMember 'chat:servers' 'keeper'"

                Expect.equal
                    (h.Get [ "EXISTS"; "chat:server:keeper:alive" ])
                    "1"
                    "h.Get [ 'EXISTS'; 'chat:server:keeper:alive' ]"

                Expect.equal
                    (h.Get [ "HGET"; "chat:session:cat"; "sid" ])
                    "newer"
                    "h.Get [ 'HGET'; 'chat:session:cat'; 'sid' ]"

                Expect.isFalse
                    (h.IsMember "chat:server:keeper:sessions" "cat")
                    "h.IsMember 'chat:server:keeper:sessions' 'cat'"

            case "while Redis is down calls fail fast with BackendUnavailable, and service resumes after"
            <| fun (h: RedisHarness) ->
                let ann, annSid = user "ann", newSid ()
                let b = h.On("phoenix", (fun () -> [ ann, annSid, lobby ]))
                b.Listen h.Record
                b.Claim(ann, annSid, Reject) |> ignore

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

                Poll.until within "bus subscription restored" (fun () ->
                    h.Get [ "PUBSUB"; "NUMSUB"; "chat:bus" ] = "chat:bus\n1")

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
