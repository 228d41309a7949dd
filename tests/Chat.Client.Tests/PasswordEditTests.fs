/// The password prompt's line editing, key by key, without a console.
module Chat.Client.Tests.PasswordEditTests

open System
open FsCheck
open FsCheck.FSharp
open NUnit.Framework
open Chat.Client
open Chat.Client.PasswordEdit

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

[<Test>]
let ``typed characters accumulate; Enter ends the prompt with them`` () =
    Assert.That(typeKeys (text "pass word" @ [ enter ]), Is.EqualTo(Done "pass word"))

[<Test>]
let ``Enter on an empty prompt gives an empty password (the caller refuses it)`` () =
    Assert.That(typeKeys [ enter ], Is.EqualTo(Done ""))

[<TestCase('\r')>]
[<TestCase('\n')>]
let ``a carriage return or line feed ends the prompt whatever key reports it`` (c: char) =
    Assert.That(apply "abc" (key c (enum<ConsoleKey> 0) false), Is.EqualTo(Done "abc"))

[<Test>]
let ``Backspace removes the last character; on an empty prompt it does nothing`` () =
    Assert.That(typeKeys (text "abc" @ [ backspace ]), Is.EqualTo(Typing "ab"))
    Assert.That(typeKeys [ backspace; backspace ], Is.EqualTo(Typing ""))
    Assert.That(typeKeys (text "ab" @ [ backspace; backspace; backspace ] @ text "c" @ [ enter ]), Is.EqualTo(Done "c"))

[<Test>]
let ``DEL as a character erases too, as terminals send it for Backspace`` () =
    Assert.That(apply "abc" (key '\u007f' (enum<ConsoleKey> 0) false), Is.EqualTo(Typing "ab"))

[<Test>]
let ``Backspace removes a whole character outside the BMP, not half of it`` () =
    Assert.That(apply "a\U0001F600" backspace, Is.EqualTo(Typing "a"))
    Assert.That(apply "\u00e9" backspace, Is.EqualTo(Typing ""))

[<Test>]
let ``Ctrl-U starts over`` () =
    Assert.That(typeKeys (text "wrong" @ [ ctrlU ] @ text "right" @ [ enter ]), Is.EqualTo(Done "right"))
    Assert.That(apply "abc" (key '\u0015' (enum<ConsoleKey> 0) false), Is.EqualTo(Typing ""))

[<Test>]
let ``Ctrl-D on an empty prompt gives up; after some typing it is ignored`` () =
    Assert.That(apply "" ctrlD, Is.EqualTo GaveUp)
    Assert.That(apply "" (key '\u0004' (enum<ConsoleKey> 0) false), Is.EqualTo GaveUp)
    Assert.That(apply "abc" ctrlD, Is.EqualTo(Typing "abc"))

[<TestCase('\t', ConsoleKey.Tab)>]
[<TestCase('\u001b', ConsoleKey.Escape)>]
[<TestCase('\u0000', ConsoleKey.LeftArrow)>]
[<TestCase('\u0000', ConsoleKey.F1)>]
[<TestCase('\u0003', ConsoleKey.C)>]
[<TestCase('\u0085', ConsoleKey.NoName)>]
let ``other control keys change nothing`` (c: char, k: ConsoleKey) =
    Assert.That(apply "abc" (key c k false), Is.EqualTo(Typing "abc"))

[<Test>]
let ``spaces and non-ASCII are part of a password`` () =
    let typed = "  caf\u00e9 \u20ac \U0001F600 "
    Assert.That(typeKeys (text typed @ [ enter ]), Is.EqualTo(Done typed))

/// Text without control characters, as UTF-16 code units (one key event each).
let private printable =
    Gen.frequency [
        8, Gen.choose (32, 126) |> Gen.map (char >> string)
        1, Gen.elements [ "\u00e9"; "\u20ac"; "\U0001F600"; "\u65e5" ]
    ]
    |> Gen.listOf
    |> Gen.map (String.concat "")

[<FsCheck.NUnit.Property(MaxTest = 300)>]
let ``typing any text then Enter gives exactly that text`` () =
    Prop.forAll (Arb.fromGen printable) (fun s -> typeKeys (text s @ [ enter ]) = Done s)

[<FsCheck.NUnit.Property(MaxTest = 300)>]
let ``n Backspaces remove the last n characters (code points)`` () =
    Prop.forAll (Arb.fromGen (Gen.zip printable (Gen.choose (0, 10)))) (fun (s, n) ->
        let runes = s.EnumerateRunes() |> Seq.map string |> List.ofSeq
        let kept = runes |> List.truncate (max 0 (runes.Length - n)) |> String.concat ""
        typeKeys (text s @ List.replicate n backspace @ [ enter ]) = Done kept)
