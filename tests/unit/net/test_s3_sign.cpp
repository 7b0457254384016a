// SigV4 against the examples of AWS's own documentation
// (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html; research/tech-notes.md
// §2.2 recomputed them): if these pass, a request we sign is one AWS would accept.

#include "net/s3_sign.hpp"

#include <boost/test/unit_test.hpp>

namespace {

using offsite::net::Credentials;
using offsite::net::SigningInput;

const Credentials k_example{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};

SigningInput example(std::string method, std::string path) {
  SigningInput input;
  input.method = std::move(method);
  input.host = "examplebucket.s3.amazonaws.com";
  input.path = std::move(path);
  input.payload_sha256 = std::string(offsite::net::k_empty_sha256);
  input.amz_date = "20130524T000000Z";
  input.region = "us-east-1";
  return input;
}

bool has_header(const std::vector<std::string>& headers, const std::string& header) {
  return std::find(headers.begin(), headers.end(), header) != headers.end();
}

} // namespace

BOOST_AUTO_TEST_SUITE(net_s3_sign)

BOOST_AUTO_TEST_CASE(get_object_with_a_range) {
  auto input = example("GET", "/test.txt");
  input.headers = {{"Range", "bytes=0-9"}};
  auto signed_request = offsite::net::sign_v4(input, k_example);
  BOOST_TEST(signed_request.signature == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  BOOST_TEST(has_header(signed_request.headers,
                        "Authorization: AWS4-HMAC-SHA256 "
                        "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"));
}

BOOST_AUTO_TEST_CASE(put_object_with_an_encoded_path_and_a_signed_payload) {
  auto input = example("PUT", "/test$file.text");
  input.payload_sha256 = offsite::net::sha256_hex(std::string_view("Welcome to Amazon S3."));
  BOOST_TEST(input.payload_sha256 == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  input.headers = {{"Date", "Fri, 24 May 2013 00:00:00 GMT"}, {"x-amz-storage-class", "REDUCED_REDUNDANCY"}};
  auto signed_request = offsite::net::sign_v4(input, k_example);
  BOOST_TEST(signed_request.canonical_request.starts_with("PUT\n/test%24file.text\n\n"));
  BOOST_TEST(signed_request.signature == "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

BOOST_AUTO_TEST_CASE(a_valueless_query_parameter_is_signed_as_name_equals) {
  auto input = example("GET", "/");
  input.query = {{"lifecycle", ""}};
  auto signed_request = offsite::net::sign_v4(input, k_example);
  BOOST_TEST(signed_request.canonical_request.starts_with("GET\n/\nlifecycle=\n"));
  BOOST_TEST(signed_request.signature == "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

BOOST_AUTO_TEST_CASE(query_parameters_are_sorted) {
  auto input = example("GET", "/");
  input.query = {{"prefix", "J"}, {"max-keys", "2"}};
  auto signed_request = offsite::net::sign_v4(input, k_example);
  BOOST_TEST(signed_request.canonical_request.starts_with("GET\n/\nmax-keys=2&prefix=J\n"));
  BOOST_TEST(signed_request.signature == "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

BOOST_AUTO_TEST_CASE(a_session_token_is_sent_and_signed_and_the_secret_is_not_sent) {
  auto input = example("GET", "/test.txt");
  Credentials temporary = k_example;
  temporary.session_token = "the-session-token";
  auto with_token = offsite::net::sign_v4(input, temporary);
  auto without = offsite::net::sign_v4(input, k_example);
  BOOST_TEST(has_header(with_token.headers, "x-amz-security-token: the-session-token"));
  BOOST_TEST(with_token.canonical_request.find("x-amz-security-token:the-session-token\n") != std::string::npos);
  BOOST_TEST(with_token.signature != without.signature);
  for (const auto& header : with_token.headers)
    BOOST_TEST(header.find(k_example.secret_access_key) == std::string::npos);
}

BOOST_AUTO_TEST_CASE(keys_and_query_values_are_encoded_once) {
  using offsite::net::uri_encode;
  BOOST_TEST(uri_encode("a b/ü+%&=~._-", true) == "a%20b/%C3%BC%2B%25%26%3D~._-");
  BOOST_TEST(uri_encode("a/b", false) == "a%2Fb");
  BOOST_TEST(offsite::net::canonical_query({{"uploads", ""}, {"prefix", "a b/"}}) == "prefix=a%20b%2F&uploads=");
}

BOOST_AUTO_TEST_CASE(amz_date_is_utc_basic_format) {
  auto when = std::chrono::sys_days(std::chrono::year(2013) / 5 / 24) + std::chrono::hours(1) +
              std::chrono::minutes(2) + std::chrono::seconds(3);
  BOOST_TEST(offsite::net::amz_date(when) == "20130524T010203Z");
}

BOOST_AUTO_TEST_SUITE_END()
