/// `BusCodec`: bus events as single strings, and back, refusing anything malformed.
module Chat.Domain.Tests.BusCodecTests

open Expecto
open FsCheck
open Chat.Domain
open Chat.Domain.Tests.Builders
open Chat.Tests.Cases

let private alice = user "alice"

[<Tests>]
let tests =
    testList "BusCodecTests" [
        testCase "events are tab-separated fields, the text last" (fun () ->
            BusCodec.encode (BusEvent.Entered(alice, sid "s1", lobby))
            =! "E\talice\ts1\tlobby"

            BusCodec.encode (BusEvent.Moved(alice, sid "s1", lobby, room "games"))
            =! "M\talice\ts1\tlobby\tgames"

            BusCodec.encode (BusEvent.Exited(alice, sid "s1", lobby))
            =! "X\talice\ts1\tlobby"

            BusCodec.encode (BusEvent.Said(lobby, msgId "7", alice, "a\tb c"))
            =! "S\tlobby\t7\talice\ta\tb c"

            BusCodec.encode (BusEvent.Published(msgId "7", alice, "t", [ user "bob"; user "carol" ]))
            =! "P\t7\talice\tbob,carol\tt"

            BusCodec.encode (BusEvent.Kicked(alice, sid "s1")) =! "K\talice\ts1")

        testCase "texts keep their tabs and a publish may have no recipients" (fun () ->
            BusCodec.decode "S\tlobby\t7\talice\ta\tb\t"
            =! Some(BusEvent.Said(lobby, msgId "7", alice, "a\tb\t"))

            BusCodec.decode "P\t7\talice\t\t"
            =! Some(BusEvent.Published(msgId "7", alice, "", [])))

        testCases
            "malformed events decode to None"
            [
                ""
                "E"
                "E\talice\ts1"
                "E\talice\ts1\tlobby\textra"
                "E\tb@d\ts1\tlobby"
                "E\talice\ts_1\tlobby"
                "M\talice\ts1\tlobby"
                "X\talice\ts1\t#nope"
                "S\tlobby\tid with space\talice\ttext"
                "S\tlobby\t7\talice"
                "P\t7\talice\tbob,,carol\ttext"
                "P\t7\talice\tbob,b@d\ttext"
                "K\talice"
                "K\talice\ts1\tmore"
                "Z\talice\ts1"
                "e\talice\ts1\tlobby"
            ]
            (fun (line: string) -> BusCodec.decode line =! None)

        testCase "a null string decodes to None" (fun () -> BusCodec.decode null =! None)

        chatProperty "decode inverts encode" (fun (event: BusEvent) ->
            BusCodec.decode (BusCodec.encode event) = Some event)

        chatProperty "decode is total on any string" (fun (line: string option) ->
            // None stands for null, which a Redis read of nothing turns into.
            BusCodec.decode (Option.toObj line) |> ignore)

        chatProperty
            "decode is total on tab-separated fields"
            (fun (kind: NonNegativeInt, fields: NonNull<string> list) ->
                let tag = [| "E"; "M"; "X"; "S"; "P"; "K" |][kind.Get % 6]

                BusCodec.decode (String.concat "\t" (tag :: List.map (fun (f: NonNull<string>) -> f.Get) fields))
                |> ignore)
    ]
