/// FsCheck generators for valid names, ids and texts of the protocol.
namespace Chat.Domain.Tests

open System
open FsCheck.FSharp
open Chat.Domain

/// Text as a client may send it: no control characters (so no newline), TAB allowed,
/// possibly empty, with spaces anywhere and non-ASCII characters.
type SafeText = SafeText of string

/// Text with at least one character that is not a space.
type NonBlankText = NonBlankText of string

module Gens =
    let private wordChars = [ 'a' .. 'z' ] @ [ 'A' .. 'Z' ] @ [ '0' .. '9' ] @ [ '_' ]

    let private name (restChars: char list) (maxLength: int) =
        gen {
            let! first = Gen.elements wordChars
            let! n = Gen.choose (0, maxLength - 1)
            let! rest = Gen.arrayOfLength n (Gen.elements restChars)
            return String(Array.append [| first |] rest)
        }

    /// Raw spellings, in mixed case, that the constructors accept.
    let usernameText = name (wordChars @ [ '.'; '-' ]) 32
    let roomNameText = name (wordChars @ [ '.'; '#'; '-' ]) 64

    let username = usernameText |> Gen.map (Username.tryCreate >> Option.get)
    let roomName = roomNameText |> Gen.map (RoomName.tryCreate >> Option.get)

    let private token (chars: char list) (maxLength: int) =
        gen {
            let! n = Gen.choose (1, maxLength)
            let! cs = Gen.arrayOfLength n (Gen.elements chars)
            return String cs
        }

    /// A word without spaces: server ids, ping tokens.
    let word = token [ '!' .. '~' ] 16
    let msgId = token [ '!' .. '~' ] 64 |> Gen.map (MsgId.tryCreate >> Option.get)

    /// A stream id `<ms>-<seq>`, as the ids of Redis streams are.
    let streamId =
        Gen.map2
            (fun (ms: int64) (seq: int64) -> MsgId.tryCreate $"{ms}-{seq}" |> Option.get)
            (Gen.choose64 (0L, System.Int64.MaxValue))
            (Gen.choose64 (0L, System.Int64.MaxValue))

    /// What `ResumeToken.tryCreate` accepts: 16 to 256 characters of base64url.
    let resumeToken =
        gen {
            let! n = Gen.choose (16, 256)
            let! cs = Gen.arrayOfLength n (Gen.elements (wordChars @ [ '-' ]))
            return ResumeToken.tryCreate (String cs) |> Option.get
        }

    let sessionId =
        token ([ 'a' .. 'z' ] @ [ 'A' .. 'Z' ] @ [ '0' .. '9' ] @ [ '-' ]) 64
        |> Gen.map (SessionId.tryCreate >> Option.get)

    let private piece =
        Gen.frequency [
            8, Gen.elements [ ' ' .. '~' ] |> Gen.map string
            3, Gen.constant " "
            1, Gen.constant "\t"
            1, Gen.elements [ "é"; "€"; "日本"; "😀"; "\u00a0"; "\u200b"; "\u00a0\u00ff" ]
        ]

    let text = Gen.listOf piece |> Gen.map (String.concat "")

    let nonBlankText =
        Gen.map3 (fun a (c: char) b -> a + string c + b) text (Gen.elements [ '!' .. '~' ]) text

    let usernames = Gen.listOf username

    let sortedUsernames =
        usernames
        |> Gen.map (List.sortWith (fun a b -> String.CompareOrdinal(Username.value a, Username.value b)))
