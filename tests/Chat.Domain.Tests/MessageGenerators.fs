/// FsCheck generators for whole server lines and bus events, and the property test that
/// registers every chat generator.
namespace Chat.Domain.Tests

open FsCheck.FSharp
open Expecto
open Chat.Domain

module MessageGenerators =

    let private byName (r, _) = RoomName.value r

    let private okReply =
        let u = Gens.username
        let r = Gens.roomName

        Gen.oneof [
            Gen.map2 (fun u r -> LoggedIn(u, r)) u r
            Gen.map2 (fun u r -> Registered(u, r)) u r
            Gen.map2 (fun u r -> Resumed(u, r)) u r
            Gen.map TokenIssued Gens.resumeToken
            Gen.map2 (fun id u -> DirectSent(id, u)) Gens.msgId u
            Gen.map Joined r
            Gen.map Left r
            // Rendering sorts rooms by name, so the generated list is sorted already (stable, ordinal).
            Gen.listOf (Gen.zip r (Gen.choose (-5, 100_000)))
            |> Gen.map (
                List.sortWith (fun a b -> System.String.CompareOrdinal(byName a, byName b))
                >> RoomList
            )
            Gen.map2 (fun r us -> WhoList(r, us)) r Gens.sortedUsernames
            Gen.map UserList Gens.sortedUsernames
            Gen.map Subscribed u
            Gen.map Unsubscribed u
            Gen.map SubList Gens.sortedUsernames
            Gen.map2 (fun id n -> Published(id, n)) Gens.msgId (Gen.choose (0, 100_000))
            Gen.map HistoryDone (Gen.choose (0, 100))
            // `OK PONG ` with an empty token cannot be told from `OK PONG`: tokens are non-empty,
            // as `Protocol.parse` makes them (it answers `/ping ` with `Pong None`).
            Gen.optionOf Gens.nonBlankText |> Gen.map Pong
            Gen.constant HelpDone
            Gen.constant QuitDone
        ]

    let private sysEvent =
        Gen.oneof [
            Gen.map2 (fun r u -> UserJoined(r, u)) Gens.roomName Gens.username
            Gen.map2 (fun r u -> UserLeft(r, u)) Gens.roomName Gens.username
            Gen.map ForcedLogout Gens.text
            Gen.map Shutdown Gens.text
        ]

    /// Every form of server line. Free texts may be empty and may start or end with spaces:
    /// the text is always the rest of the line, so the format carries them. The server id is a
    /// word (the format has no room for spaces in it).
    let serverMsg =
        let t = Gens.text

        Gen.oneof [
            Gen.map2 (fun id t -> Hello(id, t)) Gens.word t
            Gen.map Info t
            Gen.map Ok okReply
            Gen.map2 (fun c t -> Err(c, t)) (Gen.elements ErrorCode.all) t
            Gen.map4 (fun r id u t -> Msg(r, id, u, t)) Gens.roomName Gens.msgId Gens.username t
            Gen.map3 (fun id u t -> Pub(id, u, t)) Gens.msgId Gens.username t
            Gen.map3 (fun id u t -> Dm(id, u, t)) Gens.msgId Gens.username t
            gen {
                let! r = Gens.roomName
                let! id = Gens.msgId
                let! u = Gens.username
                let! ms = Gen.choose64 (-1L, 4_000_000_000_000L)
                let! t = t
                return Hist(r, id, u, ms, t)
            }
            Gen.map Sys sysEvent
        ]

    /// Every bus event; texts may contain TABs (the codec's separator) since the text goes last.
    let busEvent =
        let u = Gens.username
        let s = Gens.sessionId
        let r = Gens.roomName

        Gen.oneof [
            Gen.map3 (fun u s r -> BusEvent.Entered(u, s, r)) u s r
            Gen.map3 (fun u s r -> BusEvent.Left(u, s, r)) u s r
            Gen.map4 (fun r id u t -> BusEvent.Said(r, id, u, t)) r Gens.msgId u Gens.text
            Gen.map4 (fun id u t rs -> BusEvent.Published(id, u, t, rs)) Gens.msgId u Gens.text Gens.usernames
            Gen.map4 (fun id f r t -> BusEvent.Direct(id, f, r, t)) Gens.msgId u u Gens.text
            Gen.map2 (fun u s -> BusEvent.Kicked(u, s)) u s
        ]

type Arbs =
    static member Username() = Arb.fromGen Gens.username
    static member RoomName() = Arb.fromGen Gens.roomName
    static member MsgId() = Arb.fromGen Gens.msgId
    static member SessionId() = Arb.fromGen Gens.sessionId
    static member ResumeToken() = Arb.fromGen Gens.resumeToken

    static member SafeText() =
        Gens.text |> Gen.map SafeText |> Arb.fromGen

    static member NonBlankText() =
        Gens.nonBlankText |> Gen.map NonBlankText |> Arb.fromGen

    static member ServerMsg() = Arb.fromGen MessageGenerators.serverMsg
    static member BusEvent() = Arb.fromGen MessageGenerators.busEvent

[<AutoOpen>]
module ChatProperty =
    /// Expecto's FsCheck defaults (100 tests) with the chat generators registered.
    let chatConfig = {
        FsCheckConfig.defaultConfig with
            arbitrary = [ typeof<Arbs> ]
    }

    /// An FsCheck property test with the chat generators registered. A failure prints the seed;
    /// `etestPropertyWithConfig (seed1, seed2, size) chatConfig name` replays it.
    let chatProperty name property =
        testPropertyWithConfig chatConfig name property
