#!/usr/bin/python3
"""Regenerates tests/fuzz/corpus/token (seeds of fuzz_token.c): run from tests/fuzz.
The secret and NOW are those of fuzz_token.c; mode byte first (see its header)."""
import base64, hmac, hashlib, json, struct, os
SECRET=b"fuzz-secret-0123456789abcdef-0123456789"
NOW=1800000000
out="corpus/token"
def b64(b): return base64.urlsafe_b64encode(b).rstrip(b"=")
def jwt(header, claims, key=SECRET, sig=True):
    h=b64(json.dumps(header,separators=(",",":")).encode()); c=b64(json.dumps(claims,separators=(",",":")).encode())
    m=h+b"."+c
    s=b64(hmac.new(key,m,hashlib.sha256).digest()) if sig else b""
    return m+b"."+s
good={"session_id":"550e8400-e29b-41d4-a716-446655440000","exp":NOW+600,"aud":"lacquer"}
H={"alg":"HS256","typ":"JWT"}
def w(name, data):
    open(os.path.join(out,name),"wb").write(data)
# mode 0: extraction
w("extract_all_three.bin", b"\x00tok.en\x00Bearer tok.en\x00lacquer-tryon, bearer.tok.en")
w("extract_header.bin", b"\x04\x00  bearer   abc.def  \x00")
w("extract_conflict.bin", b"\x00aaaaaaaaaaaa\x00Bearer bbbbbbbbbbbb\x00")
w("extract_two_bearers.bin", b"\x00\x00\x00lacquer-tryon,bearer.a,bearer.b")
w("extract_basic.bin", b"\x00q\x00Basic dXNlcjpwdw==\x00")
w("extract_bad_chars.bin", b"\x00a b\x00Bearer x%y\x00bearer.\xff")
w("extract_small_cap.bin", b"\xc0\x00Bearer 0123456789abcdef\x00")
w("extract_jwt_header.bin", b"\x10\x00Bearer "+jwt(H,good)+b"\x00")
# mode 1: raw tokens
w("raw_good.bin", b"\x01"+jwt(H,good))
w("raw_good_iss.bin", b"\x01"+jwt(H,dict(good,iss="https://shop.example")))
w("raw_alg_none.bin", b"\x01"+jwt({"alg":"none","typ":"JWT"},good,sig=False))
w("raw_wrong_key.bin", b"\x01"+jwt(H,good,key=b"another-secret-another-secret-0000"))
w("raw_expired.bin", b"\x01"+jwt(H,dict(good,exp=NOW-100)))
w("raw_aud_array.bin", b"\x01"+jwt(H,dict(good,aud=["x","lacquer"],nbf=NOW-5)))
w("raw_crit.bin", b"\x01"+jwt({"alg":"HS256","crit":["b64"]},good))
w("raw_dup_alg.bin", b"\x01"+b64(b'{"alg":"HS256","alg":"none"}')+b"."+b64(json.dumps(good).encode())+b".")
w("raw_two_dots.bin", b"\x01abc.def")
w("raw_shared.bin", b"\x01fuzz-shared-token_0123456789.abc~+/=")
t=jwt(H,good); w("raw_padded_sig.bin", b"\x01"+t+b"=")
# mode 2: raw claims signed here
w("claims_good.bin", b"\x02\x00\x00"+json.dumps(good).encode())
w("claims_dup_keys.bin", b"\x02\x00\x00"+b'{"session_id":"a","session_id":"b","exp":1800000600,"aud":"lacquer"}')
w("claims_bigint.bin", b"\x02\x00\x00"+b'{"session_id":"a","exp":99999999999999999999,"aud":"lacquer"}')
w("claims_nul.bin", b"\x02\x00\x00"+b'{"session_id":"a\\u0000b","exp":1800000600,"aud":"lacquer"}')
w("claims_not_object.bin", b"\x02\x01\x00[1,2,3]")
# mode 3: claims from fields
def enc_ascii(s): return bytes([len(s)])+bytes((ord(c)-0x20) for c in s)
def m3(hv,sig,conf,expk,expoff,nbfk,nbfoff,audk,aud,issk,sidk,sid):
    b=bytes([3,hv,sig,conf,expk])+struct.pack(">i",expoff)+b"\x01"+bytes([nbfk])+struct.pack(">i",nbfoff)+b"\x01"+bytes([audk])+aud+bytes([issk,sidk])+enc_ascii(sid)
    return b
w("fields_good.bin", m3(0,0,0,1,600,0,0,1,b"\x00",0,1,"550e8400-e29b-41d4-a716-446655440000"))
w("fields_good_iss.bin", m3(1,0,1,1,600,1,-10,2,b"\x03\x01\x02\x00",1,1,"s1"))
w("fields_expired.bin", m3(0,0,0,1,-31,0,0,1,b"\x00",0,1,"s1"))
w("fields_too_long.bin", m3(2,0,0,1,3631,0,0,1,b"\x00",0,1,"s1"))
w("fields_not_yet.bin", m3(0,0,0,1,600,1,31,1,b"\x00",0,1,"s1"))
w("fields_bad_sid.bin", m3(0,0,0,1,600,0,0,1,b"\x00",0,1,"a b"))
w("fields_typ_jws.bin", m3(7,0,0,1,600,0,0,1,b"\x00",0,1,"s1"))
