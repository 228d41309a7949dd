/// Rate limiting of room messages and publishes through `Decide.decide`, with an injected clock.
module Chat.Domain.Tests.DecideRateTests

open Expecto
open Chat.Domain
open Chat.Domain.Tests.Builders

/// Two messages a second: bursts of four.
let private twoPerSecond: Decide.Limits = { limits with MsgRate = 2 }

let private alice =
    Active {
        User = user "alice"
        Room = lobby
        Bucket = TokenBucket.full twoPerSecond.MsgRate 0L
        Token = None
    }

let private decideAt nowMs state line =
    Decide.decide twoPerSecond nowMs state (parsed line)

/// Decides the lines in turn at `nowMs`; the last session and every line's effects.
let private run nowMs state lines =
    ((state, []), lines)
    ||> List.fold (fun (s, acc) line ->
        let s, effects = decideAt nowMs s line
        s, acc @ [ effects ])

let private said text = [ SayInRoom(lobby, user "alice", text) ]
let private limited = [ errReply RateLimited "at most 2 messages a second; slow down" ]

[<Tests>]
let tests =
    testList "DecideRateTests" [
        testCase "a burst of twice the rate passes, the next message is limited" (fun () ->
            let _, effects = run 0L alice [ "a"; "b"; "c"; "d"; "e" ]
            effects =! [ said "a"; said "b"; said "c"; said "d"; limited ])

        testCase "a limited message does not change the session" (fun () ->
            let empty, _ = run 0L alice [ "a"; "b"; "c"; "d" ]
            decideAt 0L empty "e" =! (empty, limited))

        testCase "publishes count against the same rate" (fun () ->
            let empty, _ = run 0L alice [ "a"; "b"; "c"; "d" ]
            snd (decideAt 0L empty "/publish news") =! limited)

        testCase "direct messages count against the same rate, sharing one bucket with room messages" (fun () ->
            let _, effects =
                run 0L alice [ "a"; "/msg bob hi"; "/publish news"; "b"; "/msg bob again" ]

            let dm text = [ SendDirect(user "alice", user "bob", text) ]

            effects
            =! [ said "a"; dm "hi"; [ PublishText(user "alice", "news") ]; said "b"; limited ])

        testCase "a spent bucket limits a direct message too" (fun () ->
            let empty, _ = run 0L alice [ "a"; "b"; "c"; "d" ]
            decideAt 0L empty "/msg bob hi" =! (empty, limited))

        testCase "tokens come back with time" (fun () ->
            let empty, _ = run 0L alice [ "a"; "b"; "c"; "d" ]
            snd (decideAt 499L empty "e") =! limited
            snd (decideAt 500L empty "e") =! said "e"
            let _, later = run 2000L empty [ "f"; "g"; "h"; "i"; "j" ]
            later =! [ said "f"; said "g"; said "h"; said "i"; limited ])

        testCase "other commands are not rate limited" (fun () ->
            let empty, _ = run 0L alice [ "a"; "b"; "c"; "d" ]
            decideAt 0L empty "/who" =! (empty, [ Ask(ListWho lobby) ])
            decideAt 0L empty "/ping" =! (empty, [ okReply (Pong None) ]))

        testCase "rate 0 never limits" (fun () ->
            let unlimited = { twoPerSecond with MsgRate = 0 }
            let state = active "alice" "lobby"

            let effects =
                List.init 1000 (fun i -> Decide.decide unlimited 0L state (parsed $"m{i}") |> snd)

            effects |> List.forall (fun e -> e.Length = 1 && errorCode e = None) =! true)
    ]
