/// SHA-256 pins as people paste them: from the server's log (colons, upper case), from sha256sum
/// (lower case, no colons), with stray spaces around.
module Chat.Client.Tests.FingerprintTests

open System
open System.Security.Cryptography
open FsCheck
open FsCheck.FSharp
open Expecto
open Chat.Client
open Chat.Tests.Cases

let private digest = Array.init 32 (fun i -> byte (i * 8 + 1))
let private hex = Convert.ToHexString digest // upper case, no colons

let private colons (s: string) =
    s |> Seq.chunkBySize 2 |> Seq.map String |> String.concat ":"

let accepted = [
    "upper case, colons", colons hex
    "lower case, colons", (colons hex).ToLowerInvariant()
    "upper case, no colons", hex
    "lower case, no colons", hex.ToLowerInvariant()
    "mixed case",
    String(
        hex
        |> Seq.mapi (fun i c -> if i % 3 = 0 then Char.ToLowerInvariant c else c)
        |> Array.ofSeq
    )
    "spaces around", "  " + colons hex + " \t"
    "colons anywhere", "::" + hex.Substring(0, 5) + ":" + hex.Substring 5
]

let refused = [
    "empty", ""
    "null", null
    "one digit short", hex.Substring 1
    "one byte long", hex + "AB"
    "SHA-1 length", hex.Substring(0, 40)
    "not hex", hex.Substring(2) + "ZZ"
    "inner space", hex.Substring(0, 10) + " " + hex.Substring 10
    "dashes", String.Join("-", hex |> Seq.chunkBySize 2 |> Seq.map String)
    "non-ASCII digits", hex.Substring(2) + "\uff10\uff10" // full-width zeros
]

[<Tests>]
let tests =
    testList "FingerprintTests" [
        for what, pin in accepted do
            testCase $"a pin is read: {what}" (fun () ->
                Expect.equal (Fingerprint.tryParse pin) (Some digest) "the digest")

        for what, pin in refused do
            testCase $"a pin is refused: {what}" (fun () ->
                Expect.equal (Fingerprint.tryParse pin) (None: byte array option) "the digest")

        testCase "format prints colon-separated upper-case hex, as openssl does" (fun () ->
            Expect.equal (Fingerprint.format [| 0x0auy; 0xbcuy; 0xffuy; 0uy |]) "0A:BC:FF:00" "four bytes"
            Expect.equal (Fingerprint.format digest) (colons hex) "a SHA-256 digest")

        testPropertyWithConfig (maxTest 300) "format and tryParse agree on every digest, whatever the case" (fun () ->
            Prop.forAll (Arb.fromGen (Gen.arrayOfLength 32 (Gen.choose (0, 255) |> Gen.map byte))) (fun d ->
                let shown = Fingerprint.format d

                Fingerprint.tryParse shown = Some d
                && Fingerprint.tryParse (shown.ToLowerInvariant()) = Some d
                && Fingerprint.tryParse (shown.Replace(":", "")) = Some d))

        testPropertyWithConfig (maxTest 300) "a pin of any other length is refused" (fun (NonNegativeInt n) ->
            let n = n % 80
            (n <> 32) ==> lazy (Fingerprint.tryParse (String('a', 2 * n)) = None))

        testCase "the pin is the SHA-256 of the certificate's DER bytes" (fun () ->
            let der = Text.Encoding.ASCII.GetBytes "not really DER, but bytes all the same"
            let pin = SHA256.HashData der
            Expect.equal (Fingerprint.ofDer der) pin "the pin of the DER bytes"
            Expect.isTrue (Fingerprint.matches pin der) "the same bytes match"
            Expect.isFalse (Fingerprint.matches pin (Array.append der [| 0uy |])) "one byte more does not match"
            Expect.isFalse (Fingerprint.matches (Array.take 31 pin) der) "a pin one byte short does not match")
    ]
