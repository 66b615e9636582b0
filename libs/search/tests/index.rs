//! The search index on its own: what a word finds, who may list what, filters, pages,
//! and an index that outlives its process.

use skillreel_domain::{CommunityId, UserId, VideoId, Visibility};
use skillreel_search::{Found, IndexedVideo, Lister, SearchError, SearchIndex, SearchOrder, SearchRequest};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn video(title: &str, description: &str, tags: &[&str]) -> IndexedVideo {
    IndexedVideo {
        id: VideoId::new(),
        owner: UserId::new(),
        title: title.into(),
        description: description.into(),
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        spoken: String::new(),
        language: "en".into(),
        visibility: Visibility::Org,
        community: None,
        duration_ms: Some(60_000),
        published_at: 1_700_000_000_000_000,
    }
}

fn request(words: &str, lister: Lister) -> SearchRequest {
    SearchRequest::new(words, lister)
}

fn anyone() -> Lister {
    Lister::Person {
        id: UserId::new(),
        communities: Vec::new(),
    }
}

fn ids(found: &[Found]) -> Vec<VideoId> {
    found.iter().map(|f| f.id).collect()
}

fn indexed(videos: &[IndexedVideo]) -> Result<std::sync::Arc<SearchIndex>, SearchError> {
    let (index, mut writer) = SearchIndex::open(None)?;
    writer.add(videos)?;
    writer.commit(1)?;
    Ok(index)
}

#[test]
fn a_word_matches_as_written_as_a_prefix_stemmed_and_with_one_typo() -> TestResult {
    let k8s = video("Running Kubernetes clusters", "Pods and nodes.", &["ops"]);
    let german = video("Grundlagen", "Wir testen die Anwendungen gründlich.", &[]);
    let other = video("Budgeting for teams", "Spreadsheets.", &["finance"]);
    let index = indexed(&[k8s.clone(), german.clone(), other.clone()])?;
    let finds = |words: &str| -> Result<_, SearchError> { Ok(ids(&index.search(&request(words, anyone()))?)) };
    assert_eq!(finds("kubernetes")?, vec![k8s.id], "as written");
    assert_eq!(finds("kube")?, vec![k8s.id], "a prefix");
    assert_eq!(finds("run")?, vec![k8s.id], "English stem of running");
    assert_eq!(finds("cluster")?, vec![k8s.id], "English stem of clusters");
    assert_eq!(finds("kubernetse")?, vec![k8s.id], "one transposition");
    assert_eq!(finds("anwendung")?, vec![german.id], "German stem of Anwendungen");
    assert_eq!(finds("ops")?, vec![k8s.id], "a tag");
    assert_eq!(
        finds("kubernetes budgeting")?,
        Vec::<VideoId>::new(),
        "every word must match"
    );
    assert_eq!(finds("zzzzz")?, Vec::<VideoId>::new());
    Ok(())
}

#[test]
fn a_typo_is_forgiven_only_for_a_word_no_video_has() -> TestResult {
    let karano = video("Karano basics", "", &[]);
    let karana = video("Karana basics", "", &[]);
    let index = indexed(&[karano.clone(), karana.clone()])?;
    let finds = |words: &str| -> Result<_, SearchError> { Ok(ids(&index.search(&request(words, anyone()))?)) };
    assert_eq!(
        finds("karano")?,
        vec![karano.id],
        "as typed, without its neighbour one edit away"
    );
    assert_eq!(
        finds("karanox")?,
        vec![karano.id],
        "a word no video has: one edit forgiven"
    );
    assert_eq!(
        finds("karano karana")?,
        Vec::<VideoId>::new(),
        "two real words no video has together"
    );
    Ok(())
}

#[test]
fn a_match_in_the_title_ranks_above_one_in_the_description() -> TestResult {
    let in_title = video("Git rebase", "Rewrite history.", &[]);
    let in_description = video("Version control", "When to use git rebase and merge.", &[]);
    let index = indexed(&[in_description.clone(), in_title.clone()])?;
    let found = index.search(&request("rebase", anyone()))?;
    assert_eq!(ids(&found), vec![in_title.id, in_description.id]);
    assert!(found[0].key > found[1].key);
    Ok(())
}

#[test]
fn each_lister_finds_only_what_they_may_list() -> TestResult {
    let community = CommunityId::new();
    let author = UserId::new();
    let everyone = video("Security basics", "", &[]);
    let members_only = IndexedVideo {
        visibility: Visibility::Community,
        community: Some(community),
        ..video("Security for members", "", &[])
    };
    let unlisted = IndexedVideo {
        visibility: Visibility::Unlisted,
        owner: author,
        ..video("Security by link", "", &[])
    };
    let federated = IndexedVideo {
        visibility: Visibility::Federated,
        ..video("Security from partners", "", &[])
    };
    let index = indexed(&[
        everyone.clone(),
        members_only.clone(),
        unlisted.clone(),
        federated.clone(),
    ])?;
    let finds = |lister: Lister| -> Result<_, SearchError> {
        let mut found = ids(&index.search(&request("security", lister))?);
        found.sort();
        Ok(found)
    };
    let sorted = |mut v: Vec<VideoId>| {
        v.sort();
        v
    };
    assert_eq!(finds(anyone())?, sorted(vec![everyone.id, federated.id]));
    let member = Lister::Person {
        id: UserId::new(),
        communities: vec![community],
    };
    assert_eq!(finds(member)?, sorted(vec![everyone.id, federated.id, members_only.id]));
    let the_author = Lister::Person {
        id: author,
        communities: Vec::new(),
    };
    assert_eq!(finds(the_author)?, sorted(vec![everyone.id, federated.id, unlisted.id]));
    assert_eq!(
        finds(Lister::Admin)?,
        sorted(vec![everyone.id, federated.id, members_only.id, unlisted.id])
    );
    Ok(())
}

#[test]
fn filters_narrow_a_search() -> TestResult {
    let community = CommunityId::new();
    let author = UserId::new();
    let short = IndexedVideo {
        duration_ms: Some(30_000),
        ..video("Python testing", "", &["pytest"])
    };
    let long = IndexedVideo {
        duration_ms: Some(600_000),
        owner: author,
        language: "de".into(),
        community: Some(community),
        ..video("Python packaging", "", &["pip"])
    };
    let index = indexed(&[short.clone(), long.clone()])?;
    let finds = |change: &dyn Fn(&mut SearchRequest)| -> Result<_, SearchError> {
        let mut r = request("python", Lister::Admin);
        change(&mut r);
        Ok(ids(&index.search(&r)?))
    };
    assert_eq!(finds(&|r| r.tag = Some("pytest".into()))?, vec![short.id]);
    assert_eq!(finds(&|r| r.author = Some(author))?, vec![long.id]);
    assert_eq!(finds(&|r| r.community = Some(community))?, vec![long.id]);
    assert_eq!(finds(&|r| r.language = Some("de".into()))?, vec![long.id]);
    assert_eq!(finds(&|r| r.max_duration_ms = Some(60_000))?, vec![short.id]);
    assert_eq!(finds(&|r| r.min_duration_ms = Some(60_000))?, vec![long.id]);
    assert_eq!(
        finds(&|r| {
            r.min_duration_ms = Some(60_000);
            r.max_duration_ms = Some(600_000);
        })?,
        vec![long.id]
    );
    Ok(())
}

#[test]
fn pages_after_a_cursor_continue_the_order_without_gaps_or_repeats() -> TestResult {
    // Equal texts score alike: the id breaks the ties, as it does in the database.
    let videos: Vec<IndexedVideo> = (0..45)
        .map(|i| IndexedVideo {
            published_at: 1_700_000_000_000_000 + i * 1_000_000,
            ..video(&format!("Observability part {}", i % 3), "Tracing and metrics.", &[])
        })
        .collect();
    let index = indexed(&videos)?;
    for order in [SearchOrder::Relevance, SearchOrder::Recent] {
        let mut all = request("observability", Lister::Admin);
        all.order = order;
        all.limit = 100;
        let whole = index.search(&all)?;
        assert_eq!(whole.len(), 45);
        assert!(
            whole
                .windows(2)
                .all(|w| (w[0].key, w[0].id.as_uuid()) > (w[1].key, w[1].id.as_uuid()))
        );
        let mut paged = Vec::new();
        let mut after = None;
        loop {
            let mut page = request("observability", Lister::Admin);
            page.order = order;
            page.limit = 10;
            page.after = after;
            let found = index.search(&page)?;
            if found.is_empty() {
                break;
            }
            after = found.last().map(|f| (f.key, f.id.as_uuid()));
            paged.extend(found);
        }
        assert_eq!(paged, whole, "{order:?}");
    }
    Ok(())
}

#[test]
fn an_update_replaces_a_video_and_one_no_longer_published_leaves() -> TestResult {
    let first = video("Docker images", "", &[]);
    let second = video("Docker volumes", "", &[]);
    let (index, mut writer) = SearchIndex::open(None)?;
    writer.add(&[first.clone(), second.clone()])?;
    writer.commit(1)?;
    let renamed = IndexedVideo {
        title: "Podman images".into(),
        ..first.clone()
    };
    writer.replace(&[first.id.as_uuid(), second.id.as_uuid()], &[renamed])?;
    assert_eq!(index.len(), 2, "nothing changes before the commit");
    writer.commit(2)?;
    assert_eq!(index.position(), Some(2));
    assert_eq!(index.len(), 1);
    let finds = |words: &str| -> Result<_, SearchError> { Ok(ids(&index.search(&request(words, Lister::Admin))?)) };
    assert_eq!(finds("docker")?, Vec::<VideoId>::new());
    assert_eq!(finds("podman")?, vec![first.id]);
    Ok(())
}

#[test]
fn an_index_on_disk_reopens_with_its_position_and_documents() -> TestResult {
    let dir = tempfile::tempdir()?;
    let kept = video("Terraform modules", "", &[]);
    {
        let (index, mut writer) = SearchIndex::open(Some(dir.path()))?;
        assert_eq!(index.position(), None, "a new index must be built");
        writer.add(std::slice::from_ref(&kept))?;
        writer.commit(41)?;
        writer.add(&[video("Terraform state", "", &[])])?;
        // not committed: lost with the process, and the position says so
    }
    let (index, _writer) = SearchIndex::open(Some(dir.path()))?;
    assert_eq!(index.position(), Some(41));
    assert_eq!(ids(&index.search(&request("terraform", Lister::Admin))?), vec![kept.id]);
    Ok(())
}

#[test]
fn a_damaged_index_directory_is_wiped_and_built_again() -> TestResult {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("meta.json"), b"{ not an index")?;
    let (index, mut writer) = SearchIndex::open(Some(dir.path()))?;
    assert_eq!(index.position(), None, "nothing usable was there");
    assert!(index.is_empty());
    writer.add(&[video("Redis streams", "", &[])])?;
    writer.commit(7)?;
    drop((index, writer));
    let (index, _writer) = SearchIndex::open(Some(dir.path()))?;
    assert_eq!(index.position(), Some(7));
    assert_eq!(index.len(), 1);
    Ok(())
}

/// Who may list a match is read per segment (each segment numbers its audience terms
/// its own way): a community's videos written in separate commits are each found by its
/// members only, and a term no segment holds lists nothing.
#[test]
fn who_may_list_holds_in_every_segment() -> TestResult {
    let (one, other) = (CommunityId::new(), CommunityId::new());
    let in_community = |title: &str, community: CommunityId| IndexedVideo {
        visibility: Visibility::Community,
        community: Some(community),
        ..video(title, "", &[])
    };
    let first = in_community("Welding basics", one);
    let second = in_community("Welding safety", other);
    let third = in_community("Welding at height", one);
    let (index, mut writer) = SearchIndex::open(None)?;
    for (position, video) in [&first, &second, &third].into_iter().enumerate() {
        writer.add(std::slice::from_ref(video))?;
        writer.commit(i64::try_from(position)? + 1)?;
    }
    let finds = |communities: Vec<CommunityId>| -> Result<_, SearchError> {
        let lister = Lister::Person {
            id: UserId::new(),
            communities,
        };
        let mut found = ids(&index.search(&request("welding", lister))?);
        found.sort();
        Ok(found)
    };
    let mut members_of_one = vec![first.id, third.id];
    members_of_one.sort();
    assert_eq!(finds(vec![one])?, members_of_one);
    assert_eq!(finds(vec![other])?, vec![second.id]);
    assert_eq!(finds(vec![CommunityId::new()])?, Vec::<VideoId>::new());
    assert_eq!(finds(Vec::new())?, Vec::<VideoId>::new());
    Ok(())
}

/// A word stands for every longer word it begins, however many (one term of the
/// beginnings field, not a union of the words), cut at characters, not bytes.
#[test]
fn a_prefix_stands_for_every_longer_word_it_begins() -> TestResult {
    let videos: Vec<IndexedVideo> = (0..100).map(|n| video(&format!("pre{n:03}"), "", &[])).collect();
    let index = indexed(&videos)?;
    let finds = |words: &str| -> Result<Vec<VideoId>, SearchError> {
        let mut found = ids(&index.search(&SearchRequest {
            limit: 100,
            ..request(words, Lister::Admin)
        })?);
        found.sort();
        Ok(found)
    };
    let sorted = |range: std::ops::Range<usize>| {
        let mut want: Vec<VideoId> = videos[range].iter().map(|v| v.id).collect();
        want.sort();
        want
    };
    assert_eq!(finds("pre")?, sorted(0..100), "every longer word");
    assert_eq!(finds("p")?, sorted(0..100), "from the first character");
    assert_eq!(finds("pre09")?, sorted(90..100));
    assert_eq!(finds("pre099")?, vec![videos[99].id], "the whole word");
    assert_eq!(finds("pre1")?, Vec::<VideoId>::new(), "no word begins so");
    assert_eq!(finds("re")?, Vec::<VideoId>::new(), "a beginning, not any part");

    let german = video("Gründlich", "", &[]);
    let index = indexed(std::slice::from_ref(&german))?;
    assert_eq!(ids(&index.search(&request("grü", Lister::Admin))?), vec![german.id]);
    assert_eq!(ids(&index.search(&request("gr", Lister::Admin))?), vec![german.id]);
    Ok(())
}

/// A word found whole ranks above a word it only begins.
#[test]
fn a_whole_word_ranks_above_a_longer_word_it_begins() -> TestResult {
    let longer = video("Kubernetes at scale", "", &[]);
    let whole = video("Kube at scale", "", &[]);
    let index = indexed(&[longer.clone(), whole.clone()])?;
    assert_eq!(
        ids(&index.search(&request("kube", Lister::Admin))?),
        vec![whole.id, longer.id]
    );
    Ok(())
}
