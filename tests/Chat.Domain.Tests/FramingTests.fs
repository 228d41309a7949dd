/// `Framing.decode`: received bytes into a line of text, or the reason it was refused.
module Chat.Domain.Tests.FramingTests

open System
open System.Text
open NUnit.Framework
open Chat.Domain
open Chat.Domain.Framing
open Chat.Domain.Tests.Builders

let private decodeBytes (bytes: byte array) = Framing.decode (ReadOnlySpan bytes)
let private decodeText (s: string) = decodeBytes (Encoding.UTF8.GetBytes s)

[<Test>]
let ``UTF-8 text decodes to itself`` () =
    decodeText "hello, wörld € 😀" =! Result.Ok "hello, wörld € 😀"
    decodeText "tab\tis fine" =! Result.Ok "tab\tis fine"
    decodeText "" =! Result.Ok ""

[<Test>]
let ``one trailing carriage return is dropped`` () =
    decodeText "hello\r" =! Result.Ok "hello"
    decodeText "\r" =! Result.Ok ""
    decodeText "a\r\r" =! Result.Error ControlCharacters

[<TestCase("C3")>] // truncated sequence
[<TestCase("FF41")>] // never valid in UTF-8
[<TestCase("C0AF")>] // overlong '/'
[<TestCase("EDA080")>] // an encoded surrogate
[<TestCase("4180")>] // stray continuation byte
[<TestCase("F4908080")>] // beyond U+10FFFF
let ``invalid UTF-8 is refused`` (hex: string) =
    decodeBytes (Convert.FromHexString hex) =! Result.Error NotUtf8

[<TestCase("esc\u001b[31m")>]
[<TestCase("nul\u0000")>]
[<TestCase("bell\u0007")>]
[<TestCase("cr\rinside")>]
[<TestCase("del\u007f")>]
[<TestCase("c1\u0085")>]
[<TestCase("csi\u009b")>]
let ``control characters are refused`` (line: string) =
    decodeText line =! Result.Error ControlCharacters

[<Test>]
let ``the characters around the forbidden ranges are allowed`` () =
    decodeText " ~\u00a0\u00ff" =! Result.Ok " ~\u00a0\u00ff"

[<Test>]
let ``each refusal has its reply`` () =
    match Framing.reply (TooLong 4096), Framing.reply NotUtf8, Framing.reply ControlCharacters with
    | Err(LineTooLong, a), Err(BadEncoding, b), Err(BadArgumentCode, c) ->
        a.Contains "4096" =! true
        [ a; b; c ] |> List.forall (fun t -> t <> "") =! true
    | other -> Assert.Fail $"unexpected replies: %A{other}"

[<ChatProperty>]
let ``decode is total on any bytes and returns a defined result`` (bytes: byte array) =
    match decodeBytes (if isNull bytes then [||] else bytes) with
    | Result.Ok s -> not (LineText.hasForbidden s)
    | Result.Error NotUtf8
    | Result.Error ControlCharacters -> true
    | Result.Error(TooLong _) -> false // length is the reader's business, not decode's

[<ChatProperty>]
let ``safe text survives encoding, with or without a carriage return`` (SafeText s, withCr: bool) =
    decodeText (if withCr then s + "\r" else s) = Result.Ok s
