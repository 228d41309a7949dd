/// `BusCodec`: bus events as single strings, and back, refusing anything malformed.
module Chat.Domain.Tests.BusCodecTests

open NUnit.Framework
open FsCheck
open Chat.Domain
open Chat.Domain.Tests.Builders

let private alice = user "alice"

[<Test>]
let ``events are tab-separated fields, the text last`` () =
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

    BusCodec.encode (BusEvent.Kicked(alice, sid "s1")) =! "K\talice\ts1"

[<Test>]
let ``texts keep their tabs and a publish may have no recipients`` () =
    BusCodec.decode "S\tlobby\t7\talice\ta\tb\t"
    =! Some(BusEvent.Said(lobby, msgId "7", alice, "a\tb\t"))

    BusCodec.decode "P\t7\talice\t\t"
    =! Some(BusEvent.Published(msgId "7", alice, "", []))

[<TestCase("")>]
[<TestCase("E")>]
[<TestCase("E\talice\ts1")>]
[<TestCase("E\talice\ts1\tlobby\textra")>]
[<TestCase("E\tb@d\ts1\tlobby")>]
[<TestCase("E\talice\ts_1\tlobby")>]
[<TestCase("M\talice\ts1\tlobby")>]
[<TestCase("X\talice\ts1\t#nope")>]
[<TestCase("S\tlobby\tid with space\talice\ttext")>]
[<TestCase("S\tlobby\t7\talice")>]
[<TestCase("P\t7\talice\tbob,,carol\ttext")>]
[<TestCase("P\t7\talice\tbob,b@d\ttext")>]
[<TestCase("K\talice")>]
[<TestCase("K\talice\ts1\tmore")>]
[<TestCase("Z\talice\ts1")>]
[<TestCase("e\talice\ts1\tlobby")>]
let ``malformed events decode to None`` (line: string) = BusCodec.decode line =! None

[<Test>]
let ``a null string decodes to None`` () = BusCodec.decode null =! None

[<ChatProperty>]
let ``decode inverts encode`` (event: BusEvent) =
    BusCodec.decode (BusCodec.encode event) = Some event

[<ChatProperty>]
let ``decode is total on any string`` (line: string option) =
    // None stands for null, which a Redis read of nothing turns into.
    BusCodec.decode (Option.toObj line) |> ignore

[<ChatProperty>]
let ``decode is total on tab-separated fields`` (kind: NonNegativeInt, fields: NonNull<string> list) =
    let tag = [| "E"; "M"; "X"; "S"; "P"; "K" |][kind.Get % 6]

    BusCodec.decode (String.concat "\t" (tag :: List.map (fun (f: NonNull<string>) -> f.Get) fields))
    |> ignore
