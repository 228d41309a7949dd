/// `Framing.decode`: received bytes into a line of text, or the reason it was refused.
module Chat.Domain.Tests.FramingTests

open System
open System.Text
open Expecto
open Chat.Domain
open Chat.Domain.Framing
open Chat.Domain.Tests.Builders
open Chat.Tests.Cases

let private decodeBytes (bytes: byte array) = Framing.decode (ReadOnlySpan bytes)
let private decodeText (s: string) = decodeBytes (Encoding.UTF8.GetBytes s)

[<Tests>]
let tests =
    testList "FramingTests" [
        testCase "UTF-8 text decodes to itself" (fun () ->
            decodeText "hello, wörld € 😀" =! Result.Ok "hello, wörld € 😀"
            decodeText "tab\tis fine" =! Result.Ok "tab\tis fine"
            decodeText "" =! Result.Ok "")

        testCase "one trailing carriage return is dropped" (fun () ->
            decodeText "hello\r" =! Result.Ok "hello"
            decodeText "\r" =! Result.Ok ""
            decodeText "a\r\r" =! Result.Error ControlCharacters)

        testCases
            "invalid UTF-8 is refused"
            [
                "C3" // truncated sequence
                "FF41" // never valid in UTF-8
                "C0AF" // overlong '/'
                "EDA080" // an encoded surrogate
                "4180" // stray continuation byte
                "F4908080" // beyond U+10FFFF
            ]
            (fun (hex: string) -> decodeBytes (Convert.FromHexString hex) =! Result.Error NotUtf8)

        testCases
            "control characters are refused"
            [
                "esc\u001b[31m"
                "nul\u0000"
                "bell\u0007"
                "cr\rinside"
                "del\u007f"
                "c1\u0085"
                "csi\u009b"
            ]
            (fun (line: string) -> decodeText line =! Result.Error ControlCharacters)

        testCase "the characters around the forbidden ranges are allowed" (fun () ->
            decodeText " ~\u00a0\u00ff" =! Result.Ok " ~\u00a0\u00ff")

        testCase "each refusal has its reply" (fun () ->
            match Framing.reply (TooLong 4096), Framing.reply NotUtf8, Framing.reply ControlCharacters with
            | Err(LineTooLong, a), Err(BadEncoding, b), Err(BadArgumentCode, c) ->
                a.Contains "4096" =! true
                [ a; b; c ] |> List.forall (fun t -> t <> "") =! true
            | other -> failtest $"unexpected replies: %A{other}")

        chatProperty "decode is total on any bytes and returns a defined result" (fun (bytes: byte array) ->
            match decodeBytes (if isNull bytes then [||] else bytes) with
            | Result.Ok s -> not (LineText.hasForbidden s)
            | Result.Error NotUtf8
            | Result.Error ControlCharacters -> true
            | Result.Error(TooLong _) -> false // length is the reader's business, not decode's
        )

        chatProperty "safe text survives encoding, with or without a carriage return" (fun (SafeText s, withCr: bool) ->
            decodeText (if withCr then s + "\r" else s) = Result.Ok s)
    ]
