//! Load generator for `bench/kafka.sh`: creates topics and produces a fleet's audit
//! logs to Kafka, one record per message, keyed by host.
//!
//! ```text
//! kafka-load create  BROKERS TOPIC PARTITIONS
//! kafka-load produce BROKERS TOPIC HOSTS LOG...   # each host sends each LOG, `node=hostN ` prefixed
//! kafka-load count   BROKERS TOPIC                # messages in the topic
//! ```

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

fn block_on<F: Future>(f: F) -> F::Output {
    struct Unpark(thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut f = pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        thread::park_timeout(Duration::from_millis(100));
    }
}

fn config(brokers: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", brokers);
    c
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = || -> ! {
        eprintln!(
            "usage: kafka-load create BROKERS TOPIC PARTITIONS | produce BROKERS TOPIC HOSTS LOG... | count BROKERS TOPIC"
        );
        std::process::exit(2)
    };
    match args.first().map(String::as_str) {
        Some("create") if args.len() == 4 => {
            let admin: AdminClient<DefaultClientContext> =
                config(&args[1]).create().expect("admin client");
            let partitions: i32 = args[3].parse().unwrap_or_else(|_| usage());
            let topic = NewTopic::new(&args[2], partitions, TopicReplication::Fixed(1));
            let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
            for r in block_on(admin.create_topics([&topic], &options)).expect("create topics") {
                r.unwrap_or_else(|(t, e)| panic!("cannot create {t}: {e}"));
            }
        }
        Some("produce") if args.len() >= 5 => {
            let hosts: usize = args[3].parse().unwrap_or_else(|_| usage());
            let logs: Vec<Vec<u8>> = args[4..]
                .iter()
                .map(|p| std::fs::read(p).unwrap_or_else(|e| panic!("{p}: {e}")))
                .collect();
            let lines: Vec<&[u8]> = logs
                .iter()
                .flat_map(|l| l.split(|&b| b == b'\n').filter(|l| !l.is_empty()))
                .collect();
            let producer: BaseProducer = config(&args[1])
                .set("linger.ms", "20")
                .set("batch.num.messages", "10000")
                .set("queue.buffering.max.messages", "1000000")
                .create()
                .expect("producer");
            let names: Vec<String> = (0..hosts).map(|h| format!("host{h:05}.example")).collect();
            let prefixes: Vec<Vec<u8>> = names
                .iter()
                .map(|n| format!("node={n} ").into_bytes())
                .collect();
            let started = Instant::now();
            let mut n = 0u64;
            let mut buf = Vec::new();
            // Hosts interleaved line by line, as a topic shared by a fleet sees them.
            for line in &lines {
                for (name, prefix) in names.iter().zip(&prefixes) {
                    buf.clear();
                    buf.extend_from_slice(prefix);
                    buf.extend_from_slice(line);
                    loop {
                        match producer.send(BaseRecord::to(&args[2]).key(name).payload(&buf)) {
                            Ok(()) => break,
                            Err(_) => producer.poll(Duration::from_millis(50)),
                        }
                    }
                    n += 1;
                }
                producer.poll(Duration::ZERO);
            }
            producer.flush(Duration::from_secs(300)).expect("delivered");
            eprintln!(
                "kafka-load: {n} messages in {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
        Some("count") if args.len() == 3 => {
            let consumer: BaseConsumer = config(&args[1])
                .set("group.id", "kafka-load-count")
                .create()
                .expect("consumer");
            let md = consumer
                .fetch_metadata(Some(&args[2]), Duration::from_secs(30))
                .expect("metadata");
            let mut total = 0;
            for t in md.topics() {
                for p in t.partitions() {
                    let (lo, hi) = consumer
                        .fetch_watermarks(&args[2], p.id(), Duration::from_secs(30))
                        .expect("watermarks");
                    total += hi - lo;
                }
            }
            println!("{total}");
        }
        _ => usage(),
    }
}
