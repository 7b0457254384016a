// Opening libcrypto at run time (crypto_library.hpp says why): the soname of OpenSSL 3, whose
// headers we compile against.

#include "net/crypto_library.hpp"

#include "util/shared_library.hpp"

namespace offsite::net {
namespace {

Result<CryptoLibrary> load_crypto() {
  auto library = SharedLibrary::open("libcrypto.so.3", "S3 and SFTP targets", "libssl3");
  if (!library) return Unexpected(library.error());
  CryptoLibrary lib{};
  library->resolve("HMAC", lib.hmac);
  library->resolve("EVP_Digest", lib.digest);
  library->resolve("EVP_EncodeBlock", lib.encode_base64);
  library->resolve("EVP_md5", lib.md5);
  library->resolve("EVP_sha1", lib.sha1);
  library->resolve("EVP_sha256", lib.sha256);
  if (auto complete = library->complete(); !complete) return Unexpected(complete.error());
  return lib;
}

} // namespace

Result<const CryptoLibrary*> crypto_library() { return load_once<CryptoLibrary, load_crypto>(); }

const CryptoLibrary& crypto() { return loaded_or_throw(crypto_library()); }

} // namespace offsite::net
