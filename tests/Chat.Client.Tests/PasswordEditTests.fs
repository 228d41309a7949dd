/// The password prompt's line editing, key by key, without a console.
module Chat.Client.Tests.PasswordEditTests

open System
open FsCheck
open FsCheck.FSharp
open Expecto
open Chat.Client
open Chat.Client.PasswordEdit
open Chat.Tests.Cases

let private key (c: char) (k: ConsoleKey) (ctrl: bool) =
    ConsoleKeyInfo(c, k, false, false, ctrl)

let private char' (c: char) =
    let k =
        if Char.IsAsciiLetter c then
            Enum.Parse<ConsoleKey>(string (Char.ToUpperInvariant c))
        else
            enum<ConsoleKey> 0

    key c k false

let private enter = key '\r' ConsoleKey.Enter false
let private backspace = key '\b' ConsoleKey.Backspace false
let private ctrlU = key '\u0015' ConsoleKey.U true
let private ctrlD = key '\u0004' ConsoleKey.D true

/// Feeds keys until the prompt is done or given up, as PasswordPrompt.Read does.
let private typeKeys (keys: ConsoleKeyInfo list) =
    let rec go typed keys =
        match keys with
        | [] -> Typing typed
        | k :: rest ->
            match apply typed k with
            | Typing t -> go t rest
            | ended -> ended

    go "" keys

let private text (s: string) = s |> Seq.map char' |> List.ofSeq

/// Text without control characters, as UTF-16 code units (one key event each).
let private printable =
    Gen.frequency [
        8, Gen.choose (32, 126) |> Gen.map (char >> string)
        1, Gen.elements [ "\u00e9"; "\u20ac"; "\U0001F600"; "\u65e5" ]
    ]
    |> Gen.listOf
    |> Gen.map (String.concat "")

[<Tests>]
let tests =
    testList "PasswordEditTests" [
        testCase "typed characters accumulate; Enter ends the prompt with them" (fun () ->
            Expect.equal (typeKeys (text "pass word" @ [ enter ])) (Done "pass word") "the prompt after those keys")

        testCase "Enter on an empty prompt gives an empty password (the caller refuses it)" (fun () ->
            Expect.equal (typeKeys [ enter ]) (Done "") "the prompt after those keys")

        testCases
            "a carriage return or line feed ends the prompt whatever key reports it"
            [ '\r'; '\n' ]
            (fun (c: char) ->
                Expect.equal (apply "abc" (key c (enum<ConsoleKey> 0) false)) (Done "abc") "the prompt after that key")

        testCase "Backspace removes the last character; on an empty prompt it does nothing" (fun () ->
            Expect.equal (typeKeys (text "abc" @ [ backspace ])) (Typing "ab") "the prompt after those keys"
            Expect.equal (typeKeys [ backspace; backspace ]) (Typing "") "the prompt after those keys"

            Expect.equal
                (typeKeys (text "ab" @ [ backspace; backspace; backspace ] @ text "c" @ [ enter ]))
                (Done "c")
                "the prompt after those keys")

        testCase "DEL as a character erases too, as terminals send it for Backspace" (fun () ->
            Expect.equal
                (apply "abc" (key '\u007f' (enum<ConsoleKey> 0) false))
                (Typing "ab")
                "the prompt after that key")

        testCase "Backspace removes a whole character outside the BMP, not half of it" (fun () ->
            Expect.equal (apply "a\U0001F600" backspace) (Typing "a") "the prompt after that key"
            Expect.equal (apply "\u00e9" backspace) (Typing "") "the prompt after that key")

        testCase "Ctrl-U starts over" (fun () ->
            Expect.equal
                (typeKeys (text "wrong" @ [ ctrlU ] @ text "right" @ [ enter ]))
                (Done "right")
                "the prompt after those keys"

            Expect.equal
                (apply "abc" (key '\u0015' (enum<ConsoleKey> 0) false))
                (Typing "")
                "the prompt after that key")

        testCase "Ctrl-D on an empty prompt gives up; after some typing it is ignored" (fun () ->
            Expect.equal (apply "" ctrlD) GaveUp "the prompt after that key"
            Expect.equal (apply "" (key '\u0004' (enum<ConsoleKey> 0) false)) GaveUp "the prompt after that key"
            Expect.equal (apply "abc" ctrlD) (Typing "abc") "the prompt after that key")

        testCases
            "other control keys change nothing"
            [
                '\t', ConsoleKey.Tab
                '\u001b', ConsoleKey.Escape
                '\u0000', ConsoleKey.LeftArrow
                '\u0000', ConsoleKey.F1
                '\u0003', ConsoleKey.C
                '\u0085', ConsoleKey.NoName
            ]
            (fun (c: char, k: ConsoleKey) ->
                Expect.equal (apply "abc" (key c k false)) (Typing "abc") "the prompt after that key")

        testCase "spaces and non-ASCII are part of a password" (fun () ->
            let typed = "  caf\u00e9 \u20ac \U0001F600 "
            Expect.equal (typeKeys (text typed @ [ enter ])) (Done typed) "the prompt after those keys")

        testPropertyWithConfig (maxTest 300) "typing any text then Enter gives exactly that text" (fun () ->
            Prop.forAll (Arb.fromGen printable) (fun s -> typeKeys (text s @ [ enter ]) = Done s))

        testPropertyWithConfig (maxTest 300) "n Backspaces remove the last n characters (code points)" (fun () ->
            Prop.forAll (Arb.fromGen (Gen.zip printable (Gen.choose (0, 10)))) (fun (s, n) ->
                let runes = s.EnumerateRunes() |> Seq.map string |> List.ofSeq
                let kept = runes |> List.truncate (max 0 (runes.Length - n)) |> String.concat ""
                typeKeys (text s @ List.replicate n backspace @ [ enter ]) = Done kept))
    ]
