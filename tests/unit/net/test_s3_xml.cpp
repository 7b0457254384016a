// The S3 answer readers: real answers read right, broken ones rejected with a reason.

#include "net/s3_xml.hpp"

#include <boost/test/unit_test.hpp>

using namespace offsite::net;

BOOST_AUTO_TEST_SUITE(net_s3_xml)

BOOST_AUTO_TEST_CASE(list_objects_v2_with_prefixes_and_a_continuation) {
  auto page = parse_list_objects(R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name><Prefix>root/</Prefix><KeyCount>3</KeyCount><MaxKeys>1000</MaxKeys>
  <Delimiter>/</Delimiter><IsTruncated>true</IsTruncated>
  <NextContinuationToken>token+/=</NextContinuationToken>
  <Contents><Key>root/a&amp;b &lt;c&gt;</Key><LastModified>2009-10-12T17:50:30.000Z</LastModified>
    <ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag><Size>434234</Size><StorageClass>STANDARD</StorageClass></Contents>
  <Contents><Key>root/&#x1F600;</Key><Size>0</Size></Contents>
  <CommonPrefixes><Prefix>root/dir/</Prefix></CommonPrefixes>
</ListBucketResult>)");
  BOOST_TEST_REQUIRE(page.has_value());
  BOOST_TEST_REQUIRE(page->objects.size() == 2u);
  BOOST_TEST(page->objects[0].key == "root/a&b <c>");
  BOOST_TEST(page->objects[0].size == 434234u);
  BOOST_TEST(page->objects[0].mtime_ns == 1255369830000000000ll);
  BOOST_TEST(page->objects[1].key == "root/\xF0\x9F\x98\x80");
  BOOST_TEST(page->prefixes == std::vector<std::string>{"root/dir/"});
  BOOST_TEST(page->truncated);
  BOOST_TEST(page->continuation == "token+/=");
}

BOOST_AUTO_TEST_CASE(url_encoded_listings_are_decoded) {
  auto page = parse_list_objects("<ListBucketResult><EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>"
                                 "<Contents><Key>a/100%25+x</Key><Size>1</Size></Contents>"
                                 "<CommonPrefixes><Prefix>a/%41%2F/</Prefix></CommonPrefixes></ListBucketResult>");
  BOOST_TEST_REQUIRE(page.has_value());
  BOOST_TEST(page->objects[0].key == "a/100% x");
  BOOST_TEST(page->prefixes[0] == "a/A//");
  BOOST_TEST(!page->truncated);
}

BOOST_AUTO_TEST_CASE(an_error_inside_a_200_is_an_error) {
  std::string body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\n\n<Error><Code>InternalError</Code>"
                     "<Message>We encountered an internal error. Please try again.</Message></Error>";
  auto completed = parse_result_etag(body, "CompleteMultipartUploadResult");
  BOOST_TEST_REQUIRE(!completed.has_value());
  BOOST_TEST(completed.error().kind == offsite::ErrorKind::transient);
  BOOST_TEST(completed.error().message.find("InternalError") != std::string::npos);
  auto denied = parse_result_etag("<Error><Code>AccessDenied</Code><Message>no</Message></Error>", "CopyObjectResult");
  BOOST_TEST_REQUIRE(!denied.has_value());
  BOOST_TEST(denied.error().kind == offsite::ErrorKind::permanent);
  auto ok = parse_result_etag("<CompleteMultipartUploadResult><Location>x</Location><Bucket>b</Bucket><Key>k</Key>"
                              "<ETag>\"3858f62230ac3c915f300c664312c11f-9\"</ETag></CompleteMultipartUploadResult>",
                              "CompleteMultipartUploadResult");
  BOOST_TEST_REQUIRE(ok.has_value());
  BOOST_TEST(*ok == "3858f62230ac3c915f300c664312c11f-9");
}

BOOST_AUTO_TEST_CASE(multipart_answers) {
  auto id = parse_initiate_upload("<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>"
                                  "<UploadId>VXBsb2FkIElE</UploadId></InitiateMultipartUploadResult>");
  BOOST_TEST_REQUIRE(id.has_value());
  BOOST_TEST(*id == "VXBsb2FkIElE");
  auto parts = parse_list_parts("<ListPartsResult><IsTruncated>true</IsTruncated><NextPartNumberMarker>2"
                                "</NextPartNumberMarker><Part><PartNumber>1</PartNumber><ETag>\"aa\"</ETag>"
                                "<Size>5242880</Size></Part><Part><PartNumber>2</PartNumber><ETag>\"bb\"</ETag>"
                                "<Size>7</Size></Part></ListPartsResult>");
  BOOST_TEST_REQUIRE(parts.has_value());
  BOOST_TEST_REQUIRE(parts->parts.size() == 2u);
  BOOST_TEST(parts->parts[1].number == 2);
  BOOST_TEST(parts->parts[1].etag == "bb");
  BOOST_TEST(parts->next_marker == 2);
  auto uploads = parse_list_uploads("<ListMultipartUploadsResult><IsTruncated>false</IsTruncated>"
                                    "<Upload><Key>root/f</Key><UploadId>u1</UploadId></Upload>"
                                    "</ListMultipartUploadsResult>");
  BOOST_TEST_REQUIRE(uploads.has_value());
  BOOST_TEST(uploads->uploads[0].key == "root/f");
  BOOST_TEST(uploads->uploads[0].upload_id == "u1");
}

BOOST_AUTO_TEST_CASE(malformed_documents_are_rejected_with_a_reason) {
  for (std::string_view bad : {"", "not xml", "<a>", "<a></b>", "<a>&bogus;</a>", "<a></a>trailing", "<a><b></a></b>",
                               "<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>", "<a>&#0;</a>", "<a>&#xD800;</a>",
                               "<a b=\"1></a>", "<ListBucketResult><IsTruncated>maybe</IsTruncated></ListBucketResult>",
                               "<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents></ListBucketResult>",
                               "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>"}) {
    BOOST_TEST_CONTEXT(bad) {
      auto page = parse_list_objects(bad);
      BOOST_TEST_REQUIRE(!page.has_value());
      BOOST_TEST(page.error().kind == offsite::ErrorKind::permanent);
      BOOST_TEST(!page.error().message.empty());
    }
  }
  std::string deep;
  for (int i = 0; i < 100; ++i)
    deep += "<a>";
  BOOST_TEST(!parse_xml(deep).has_value());
}

BOOST_AUTO_TEST_CASE(the_wrong_answer_is_named) {
  auto page = parse_list_objects("<ListPartsResult/>");
  BOOST_TEST_REQUIRE(!page.has_value());
  BOOST_TEST(page.error().message.find("ListPartsResult") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
