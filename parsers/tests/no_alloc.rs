//! The common path allocates nothing: parsing a frame, classifying its body and walking every
//! field of realistic RFC 5424, RFC 3164, CEF, LEEF and ASA messages makes zero heap
//! allocations (counted by dhat's testing allocator). Escapes in values are the documented
//! exception (they force a `Cow::Owned`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use tern_parsers::framing::{Decoded, FrameDecoder, Framing};
use tern_parsers::{Body, Options, Timestamp, parse};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const STREAM: &[u8] = b"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 1234 ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"][examplePriority@32473 class=\"high\"] An application event log entry\n\
<34>Oct 11 22:14:15 mymachine su[123]: 'su root' failed for lonvick on /dev/pts/8\n\
<134>Feb 14 19:04:54 fw01 CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1 dst=2.1.2.2 spt=1232 request=https://x.example/p?a=1&b=2 msg=with spaces in it cs1Label=Rule cs1=Allow all\n\
<13>1 2019-01-18T11:07:53.520Z 192.168.1.1 LEEF:2.0|Vendor|Product|Version|EventID|^|src=192.0.2.0^dst=172.50.123.1^sev=5\n\
<166>Nov 21 2026 10:00:00 fw01 : %ASA-6-302013: Built outbound TCP connection 1 for outside:10.0.0.1/80 (10.0.0.1/80) to inside:10.0.0.2/1772 (10.0.0.2/1772)\n\
<189>date=2021-01-15 time=12:58:59 devname=\"FORTI_111\" devid=\"FG100D3G12801312\" logid=\"0001000014\" type=\"traffic\" subtype=\"local\" srcip=91.234.154.139 srcport=45295 dstip=213.5.1.1 dstport=443 action=\"deny\"\n\
<14>Apr 10 04:39:55 pa 1,2012/04/10 04:39:55,001606000117,TRAFFIC,end,1,2012/04/10 04:39:54,192.168.0.2,204.232.231.46,0.0.0.0,0.0.0.0,rule1,,,web-browsing,vsys1,trust,untrust,ethernet1/2,ethernet1/1,forwardAll,2012/04/10 04:39:55,8720,1,53009,80,0,0,0x400000,tcp,allow,1288,586,702,12\n\
<14>Apr 10 04:39:55 zeek {\"_path\":\"conn\",\"uid\":\"CHhAvVGS1DHFjwGM9\",\"id.orig_h\":\"10.0.0.1\",\"id.orig_p\":5353,\"proto\":\"udp\",\"n\":null}\n\
<134>1 1563249630.774247467 mx84 urls src=192.168.1.186:63735 dst=69.58.188.40:80 mac=58:1F:AA:CE:61:F2 request: GET https://a.example/\n\
<23> Nov 18 09:56:58 srx RT_FLOW: RT_FLOW_SESSION_CREATE: session created 192.168.1.102/58662->8.8.8.8/53 junos-dns-udp 68.144.1.1/55893->8.8.8.8/53 TRUST None 17 TRUST trust untrust 50811 N/A(N/A) vlan.100\n\
<134>1 2018-03-21T17:25:25Z MDS-72 CheckPoint 13752 - [action:\"Update\"; flags:\"150784\"; ifdir:\"inbound\"; origin:\"192.168.32.91\"]\n\
<30>device=\"SFW\" date=2022-04-25 time=15:27:08 device_name=\"XG430\" log_id=010101600001 log_type=\"Firewall\" src_ip=10.0.0.1\n\
<29>1 2024-03-05T08:09:10.123Z epo EPOEvents - EventFwd - <?xml version=\"1.0\"?><EPOEvent><MachineInfo><MachineName>PC1</MachineName><IPAddress>10.0.0.9</IPAddress></MachineInfo></EPOEvent>\n\
<30>1 2023-12-11T14:30:02.217Z host vee-fs@Prod 20643922 CGP2602E [CGP@21513 sev=\"ERROR\" msg=\"Reject access\" act=\"read_file\"]\n\
<14>Mar  8 14:40:11 WIN Service_Control_Manager: {\"EventTime\":\"2012-03-08 14:40:11\",\"Hostname\":\"WIN\",\"EventID\":7036}\n";

fn walk(stream: &[u8], options: &Options) -> usize {
    let mut decoder = FrameDecoder::new(Framing::Auto, 65536);
    let mut rest = stream;
    let mut fields = 0usize;
    let mut vendors = 0usize;
    loop {
        let consumed = match decoder.decode(rest) {
            Decoded::Frame { frame, consumed } => {
                let event = parse(frame, options).unwrap();
                fields += event.hostname.map_or(0, str::len) + event.app_name.map_or(0, str::len);
                fields += event.message.len() + usize::from(event.timestamp.is_some());
                for element in event.structured_data.elements() {
                    for (name, value) in element.params() {
                        fields += name.len() + value.len();
                    }
                }
                match &event.body {
                    Body::Cef(cef) => {
                        fields += cef.device_vendor.len() + cef.name.len();
                        for (key, value) in cef.extensions.iter() {
                            fields += key.len() + value.len();
                        }
                    }
                    Body::Leef(leef) => {
                        for (key, value) in leef.attributes.iter() {
                            fields += key.len() + value.len();
                        }
                    }
                    Body::CiscoAsa(asa) => fields += asa.message_id.len() + asa.text.len(),
                    Body::Vendor(vendor) => {
                        vendors += 1;
                        for (key, value) in vendor.fields() {
                            fields += key.len() + value.len();
                        }
                    }
                    Body::Text => {}
                }
                consumed
            }
            Decoded::NeedMore => break,
            other => panic!("unexpected {other:?}"),
        };
        rest = &rest[consumed..];
    }
    // Every vendor line above was recognised (ten vendors).
    assert_eq!(vendors, 10);
    fields
}

/// Run without the test harness (`harness = false`): the harness's own threads allocate now
/// and then, and dhat counts every thread of the process.
fn main() {
    parsing_the_common_path_allocates_nothing();
    println!("no_alloc: 1 passed, 0 failed");
}

fn parsing_the_common_path_allocates_nothing() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let options = Options::new(Timestamp::from_unix(1_795_219_200, 0));
    let warm = walk(STREAM, &options);
    let before = dhat::HeapStats::get();
    let mut total = 0;
    for _ in 0..100 {
        total += walk(STREAM, &options);
    }
    let after = dhat::HeapStats::get();
    assert_eq!(total, warm * 100);
    assert_eq!(
        after.total_blocks - before.total_blocks,
        0,
        "heap allocations on the common path"
    );

    // The counter works: an escaped CEF value is one allocation.
    let escaped = b"CEF:0|V|P|1|2|N|3|msg=a\\=b";
    let before = dhat::HeapStats::get();
    let event = parse(escaped, &options).unwrap();
    let Body::Cef(cef) = &event.body else {
        panic!()
    };
    assert_eq!(cef.extensions.get("msg").unwrap(), "a=b");
    assert_eq!(dhat::HeapStats::get().total_blocks - before.total_blocks, 1);
}
