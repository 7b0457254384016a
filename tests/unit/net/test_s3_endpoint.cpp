// Endpoints as the config spells them, and the host a signature must name.

#include "net/s3_client.hpp"

#include <boost/test/unit_test.hpp>

using offsite::net::S3Endpoint;

BOOST_AUTO_TEST_SUITE(net_s3_endpoint)

BOOST_AUTO_TEST_CASE(aws_by_region) {
  auto endpoint = S3Endpoint::parse("", "eu-west-3");
  BOOST_TEST_REQUIRE(endpoint.has_value());
  BOOST_TEST(endpoint->scheme == "https");
  BOOST_TEST(endpoint->host == "s3.eu-west-3.amazonaws.com");
  endpoint->bucket = "b";
  BOOST_TEST(endpoint->describe() == "s3://b");
}

BOOST_AUTO_TEST_CASE(custom_endpoints_keep_their_port_unless_it_is_the_default) {
  auto local = S3Endpoint::parse("http://127.0.0.1:9000/", "");
  BOOST_TEST_REQUIRE(local.has_value());
  BOOST_TEST(local->host == "127.0.0.1:9000");
  BOOST_TEST(local->region == "us-east-1");
  local->path_style = true;
  local->bucket = "b";
  BOOST_TEST(local->describe() == "http://127.0.0.1:9000/b");
  auto standard = S3Endpoint::parse("https://s3.example.com:443", "r");
  BOOST_TEST_REQUIRE(standard.has_value());
  BOOST_TEST(standard->host == "s3.example.com");
}

BOOST_AUTO_TEST_CASE(malformed_endpoints_are_config_errors) {
  for (const char* bad : {"s3.example.com", "ftp://x", "https://", "https://a/b", "https://user@host"}) {
    BOOST_TEST_CONTEXT(bad) {
      auto endpoint = S3Endpoint::parse(bad, "r");
      BOOST_TEST_REQUIRE(!endpoint.has_value());
      BOOST_TEST(endpoint.error().kind == offsite::ErrorKind::config);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
