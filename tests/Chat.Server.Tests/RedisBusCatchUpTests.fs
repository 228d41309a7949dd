namespace Chat.Server.Tests

open System
open Expecto
open Chat.Testing
open Chat.Domain
open Chat.Server
open Given

/// The bus's catch-up (RedisBus) against a real redis-server: events that reached `chat:bus:log`
/// but not an instance's subscription (it was down meanwhile) are read back from the log, in order
/// and once, however many reads of `RedisScripts.BusReadCount` entries the gap takes, up to the
/// log's whole length (`RedisScripts.BusLogLength`, the figure docs/REDIS-SCHEMA.md promises).
module RedisBusCatchUpTests =
    /// ARGV prefix, count: numbers `count` events on and keeps them in the log without publishing
    /// them, as `busPublish` would with the subscription down. Their lines are prefix .. 1, 2, ...
    let private missed =
        """
local seq = 0
for i = 1, tonumber(ARGV[2]) do
  seq = redis.call('INCR', 'chat:bus:seq')
  redis.call('XADD', 'chat:bus:log', seq .. '-1', 'e', ARGV[1] .. i)
end
return seq
"""

    let private id = MsgId.tryCreate "1-0" |> Option.get

    let private said text =
        BusEvent.Said(lobby, id, user "ann", text)

    /// Events the subscription missed, their texts "1" to "<count>"; the last number given.
    let private miss (h: RedisHarness) (count: int) =
        int64 (h.Get [ "EVAL"; missed; "0"; BusCodec.encode (said ""); string count ])

    let private texts (events: BusEvent list) =
        events
        |> List.choose (function
            | BusEvent.Said(_, _, _, t) -> Some t
            | _ -> None)

    /// The texts received, against those expected: the count, then the first that differs.
    let private expectTexts (actual: string list) (expected: string list) =
        let firstDifference =
            Seq.zip actual expected |> Seq.tryFindIndex (fun (a, e) -> a <> e)

        match firstDifference with
        | Some i -> failtestf "event %d: expected %s, got %s" i expected[i] actual[i]
        | None -> Expect.equal actual.Length expected.Length "events received (in order, each once)"

    let private numbered (count: int) = [ for i in 1..count -> string i ]

    /// A listening instance that has seen the bus's first event, and another that publishes.
    let private started (h: RedisHarness) =
        let listener = h.On "listener"
        listener.Listen h.Record
        let publisher = h.On "publisher"
        publisher.Announce(said "first")
        h.WaitForEvents "the first event" (fun events -> texts events = [ "first" ])
        publisher

    let private noLoss (h: RedisHarness) =
        let lost = h.Warnings |> List.filter (fun w -> w.Contains "lost")
        Expect.isEmpty lost "no event reported lost"

    [<Tests>]
    let tests =
        RedisSuite.tests "RedisBusCatchUpTests" [
            case "a gap of several reads of the log is read back in order, once, before the event after it"
            <| fun h ->
                let publisher = started h
                let gap = 2 * RedisScripts.BusReadCount + RedisScripts.BusReadCount / 2
                Expect.equal (miss h gap) (int64 gap + 1L) "the gap's last number"
                publisher.Announce(said "after")

                h.WaitForEvents "the gap and the event after it" (fun events -> (texts events).Length >= gap + 2)
                expectTexts (texts h.Events) ([ "first" ] @ numbered gap @ [ "after" ])
                noLoss h

            case "a quiet gap of more than one read (nothing published after it) is found and read back"
            <| fun h ->
                started h |> ignore
                let gap = RedisScripts.BusReadCount + 1
                miss h gap |> ignore

                Poll.until (TimeSpan.FromSeconds 15.0) "the quiet gap read back" (fun () ->
                    (texts h.Events).Length >= gap + 1)

                expectTexts (texts h.Events) ([ "first" ] @ numbered gap)
                noLoss h

            case "a gap as long as the log keeps is read back whole"
            <| fun h ->
                let publisher = started h
                // One event less than the log's length: with `first` and `after`, busPublish's
                // MAXLEN ~ has nothing it may trim yet.
                let gap = RedisScripts.BusLogLength - 1
                miss h gap |> ignore
                publisher.Announce(said "after")

                Poll.until (TimeSpan.FromSeconds 60.0) "the whole log read back" (fun () ->
                    (texts h.Events).Length >= gap + 2)

                expectTexts (texts h.Events) ([ "first" ] @ numbered gap @ [ "after" ])
                noLoss h

            case "events trimmed from the log before they were read are reported lost; the rest arrive in order"
            <| fun h ->
                let publisher = started h
                let gap = 3 * RedisScripts.BusReadCount
                miss h gap |> ignore
                // Event 1 is `first`, the gap's texts 1..1000 are numbers 2..1001: trim those.
                let trimmed = 1000
                h.Get [ "XTRIM"; "chat:bus:log"; "MINID"; $"{trimmed + 2}-1" ] |> ignore
                publisher.Announce(said "after")

                h.WaitForEvents "the rest of the gap and the event after it" (fun events ->
                    (texts events).Length >= gap - trimmed + 2)

                expectTexts (texts h.Events) ([ "first" ] @ [ for i in trimmed + 1 .. gap -> string i ] @ [ "after" ])

                Expect.contains
                    h.Warnings
                    $"bus events 2 to {trimmed + 1} are gone from the log; they are lost"
                    "the loss is logged"
        ]
