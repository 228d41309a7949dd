namespace Chat.Server.Tests

open Expecto
open Chat.Domain
open Chat.Server
open Given

/// The parts of a bus line the say and publish scripts finish: with the id (and the recipients)
/// put in, they are exactly what `BusCodec.encode` writes, and what it decodes back.
module RedisBusTemplateTests =
    let private id = MsgId.tryCreate "1764000000000-7" |> Option.get

    let private samples = [
        room "lobby", user "ann", "hello"
        room "a.b#c-d", user "x_1.y-z", "with  spaces, \ttabs and ünïcödé"
        room "r", user "b", ""
        room "dev", user "c", "~id~ looks like a placeholder"
    ]

    [<Tests>]
    let tests =
        testList "RedisBusTemplateTests" [
            testCase "said: prefix + id + suffix is the codec's Said line"
            <| fun () ->
                for r, u, text in samples do
                    let prefix, suffix = RedisBusTemplate.said r u text
                    let line = prefix + MsgId.value id + suffix
                    let said = BusEvent.Said(r, id, u, text)
                    Expect.equal line (BusCodec.encode said) $"encoded {text}"
                    Expect.equal (BusCodec.decode line) (Some said) $"decoded {text}"

            testCase "published: head + id + middle + recipients + tail is the codec's Published line"
            <| fun () ->
                for _, u, text in samples do
                    for recipients in [ []; [ user "bob" ]; [ user "bob"; user "cat" ] ] do
                        let head, middle, tail = RedisBusTemplate.published u text

                        let line =
                            head
                            + MsgId.value id
                            + middle
                            + (recipients |> List.map Username.value |> String.concat ",")
                            + tail

                        let published = BusEvent.Published(id, u, text, recipients)
                        Expect.equal line (BusCodec.encode published) $"encoded {text} to {recipients}"
                        Expect.equal (BusCodec.decode line) (Some published) $"decoded {text}"
        ]
