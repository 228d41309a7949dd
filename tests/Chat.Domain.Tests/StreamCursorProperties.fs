/// What a stream's cursor guarantees over arbitrary histories of the simulated stream: exactly
/// once and in order while the log keeps everything; never twice, with every gap accounted for,
/// when it is trimmed or rewound.
module Chat.Domain.Tests.StreamCursorProperties

open FsCheck
open FsCheck.FSharp
open Expecto
open Chat.Tests.Cases
open Chat.Domain
open Chat.Domain.Tests.StreamSimulator

let private ops trims rewinds =
    let copies =
        Gen.frequency [ 1, Gen.constant 0; 6, Gen.constant 1; 2, Gen.constant 2 ]

    let op =
        Gen.frequency [
            yield 6, Gen.map2 (fun g c -> Append(g, c)) (Gen.choose (0, 2)) copies
            yield 6, Gen.constant Hear
            yield 3, Gen.map Answer (Gen.frequency [ 3, Gen.constant false; 1, Gen.constant true ])
            yield 1, Gen.constant Fail
            yield 1, Gen.constant Retry
            yield 1, Gen.constant Restore
            yield 1, Gen.constant ReadTail
            yield 1, Gen.constant Start
            if trims then
                yield 2, Gen.map Trim (Gen.choose (1, 3))
            if rewinds then
                yield 1, Gen.map Rewind (Gen.choose (1, 4))
        ]

    gen {
        // Entries already there before the subscription: never heard, never expected.
        let! before = Gen.listOf (Gen.choose (0, 2)) |> Gen.map (List.truncate 4)
        let! rest = Gen.listOf op
        return (before |> List.map (fun g -> Append(g, 0))) @ rest
    }

/// What one run shows: the tail started from, the ids delivered, the losses and rewinds reported.
type private Outcome = {
    World: World
    Tail: StreamPos
    Delivered: StreamPos list
    Lost: (StreamPos * StreamPos) list
    Rewound: (StreamPos * StreamPos) list
}

let private outcome (w: World) =
    let steps = List.rev w.Steps

    {
        World = w
        Tail = w.Tail |> Option.defaultValue StreamPos.zero
        Delivered =
            steps
            |> List.choose (function
                | Step.Deliver e -> Some e.Id
                | _ -> None)
        Lost =
            steps
            |> List.choose (function
                | Step.Lost(a, u) -> Some(a, u)
                | _ -> None)
        Rewound =
            steps
            |> List.choose (function
                | Step.Rewound(d, e) -> Some(d, e)
                | _ -> None)
    }

let private increasing (o: Outcome) =
    o.Delivered |> List.pairwise |> List.forall (fun (a, b) -> a < b)

let private settled (o: Outcome) = StreamCursor.isIdle o.World.Cursor

let private afterStart (o: Outcome) (entries: StreamEntry<int> list) =
    entries |> List.map _.Id |> List.filter (fun id -> id > o.Tail)

let private covered (o: Outcome) id =
    o.Lost |> List.exists (fun (a, u) -> a < id && id <= u)

let private exactlyOnce (o: Outcome) =
    Prop.label "settles idle" (settled o)
    .&. Prop.label "every entry after the start, once, in order" (o.Delivered = afterStart o o.World.Appended)
    .&. Prop.label "nothing lost or rewound" (o.Lost.IsEmpty && o.Rewound.IsEmpty)

let private trimmed (o: Outcome) =
    let delivered = Set.ofList o.Delivered

    Prop.label "settles idle" (settled o)
    .&. Prop.label "deliveries strictly increasing" (increasing o)
    .&. Prop.label
            "every entry after the start not delivered is reported lost"
            (afterStart o o.World.Appended
             |> List.forall (fun id -> delivered.Contains id || covered o id))
    .&. Prop.label "nothing delivered is reported lost" (o.Delivered |> List.forall (covered o >> not))
    .&. Prop.label "nothing rewound" o.Rewound.IsEmpty

let private rewound (o: Outcome) =
    // The cursor was inside what a rewind lost when it started there or delivered some of it.
    let positions = Set.ofList (o.Tail :: o.Delivered)

    let perRewind (logEnd, lost: Set<StreamPos>) =
        let reported = o.Rewound |> List.filter (fun (d, _) -> lost.Contains d)
        let seenPast = not (Set.intersect positions lost).IsEmpty

        reported =
            (if seenPast then
                 [ (List.max (Set.toList (Set.intersect positions lost)), logEnd) ]
             else
                 [])

    Prop.label "settles idle" (settled o)
    .&. Prop.label "deliveries strictly increasing" (increasing o)
    .&. Prop.label "nothing lost" o.Lost.IsEmpty
    .&. Prop.label "exactly one Rewound per rewind seen past" (List.forall perRewind o.World.Rewinds)
    .&. Prop.label
            "every Rewound is of a rewind"
            (o.Rewound
             |> List.forall (fun (d, _) -> o.World.Rewinds |> List.exists (fun (_, lost) -> lost.Contains d)))
    .&. Prop.label
            "every entry still in the log after the start is delivered"
            (afterStart o o.World.History
             |> List.forall (fun id -> List.contains id o.Delivered))

/// A property over 500 simulated histories; a failure prints the seed that replays it
/// (`etestPropertyWithConfig (seed1, seed2, size) (maxTest 500) name`).
let private check name trims rewinds (holds: Outcome -> Property) =
    testPropertyWithConfig (maxTest 500) name (Prop.forAll (Arb.fromGen (ops trims rewinds)) (run >> outcome >> holds))

[<Tests>]
let tests =
    testList "StreamCursorProperties" [
        check
            "with the whole log kept, every entry after the start is delivered exactly once, in order"
            false
            false
            exactlyOnce
        check "with the log trimmed, nothing is delivered twice and every gap is reported lost" true false trimmed
        check
            "with the log rewound, nothing is delivered twice and each rewind seen past is reported once"
            false
            true
            rewound
    ]
