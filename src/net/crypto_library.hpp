#pragma once
// libcrypto (OpenSSL 3), opened when an S3 target connects or an SFTP session opens rather than
// when offsite starts (util/shared_library.hpp says why: a cold load
// of libcrypto with libssh2 cost about 10 ms of every run, local targets included).
//
// Only the one-shot digests offsite needs; TLS is libcurl's business and SSH's ciphers libssh2's,
// each of which loads libcrypto for itself. Random bytes for IDs come from the C++ library
// (util/uuid.cpp), so a local sync never opens this.

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "util/error.hpp"

namespace offsite::net {

struct CryptoLibrary {
  decltype(&::HMAC) hmac;
  decltype(&::EVP_Digest) digest;
  decltype(&::EVP_EncodeBlock) encode_base64;
  decltype(&::EVP_md5) md5;
  decltype(&::EVP_sha1) sha1;
  decltype(&::EVP_sha256) sha256;
};

// The loaded library, or why it could not be loaded. Loaded once, thread-safely.
Result<const CryptoLibrary*> crypto_library();

// The loaded library, for code that runs only after a target checked crypto_library() when it
// connected (S3 signing, SFTP host keys); a failed load there is a programming error: it throws.
const CryptoLibrary& crypto();

} // namespace offsite::net
