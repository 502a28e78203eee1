"""Reads, one way per case: ORM instances to change rows; `project(Schema)` to answer
requests, through a session or through the session-less reader; `rows()` / `tuples()`
for data that is neither."""

from heroes.models import Hero, HeroPublic, HeroPublicWithTeam, Team
from sqlmodel import col

from sqlmodel_async import Database, Page, Repository


async def main(db: Database) -> None:
    async with db.transaction() as session:
        team = Team(name="Preventers", headquarters="Sharp Tower")
        session.add(team)
        await session.flush()
        session.add_all(
            Hero(name=f"Hero {n}", secret_name=f"Secret {n}", age=20 + n,
                 team_id=team.id if n < 3 else None)
            for n in range(6)
        )

    # To change rows: model instances, in a transaction; the changes are written at commit.
    async with db.transaction() as session:
        heroes = Repository(Hero, session)
        hero = await heroes.first(name="Hero 0")
        assert hero is not None and hero.id is not None
        hero.age = 40

    # To answer a request: the response schema decides what is read (the team LEFT
    # JOINed), no ORM instance is made. The reader needs no session and no transaction.
    async with db.reader() as reader:
        public = reader.project(Hero, HeroPublicWithTeam)
        found = await public.get_one(hero.id)  # NotFoundError (a 404) when there is none
        assert found.age == 40 and found.team is not None and found.team.name == "Preventers"
        page = await public.paginate(col(Hero.age) < 30, page=1, size=10, team_id=team.id)
        assert isinstance(page, Page) and [h.name for h in page.items] == ["Hero 1", "Hero 2"]
        # The bytes `response_model=HeroPublicWithTeam` would send: return them in a Response.
        body = await public.get_json(hero.id)
        assert body.startswith(b'{"name":"Hero 0"') and b'"team":{"name":"Preventers"' in body
        # A stream through a reader is read inside its block (it holds the connection).
        names = [h.name async for h in reader.project(Hero, HeroPublic).stream(batch_size=4)]
        assert len(names) == 6

    # The same reads inside a transaction go through its session (they see its writes).
    async with db.transaction() as session:
        session.add(Hero(name="Rookie", secret_name="R", age=18))
        rookie = await Repository(Hero, session).project(HeroPublic).first(name="Rookie")
        assert rookie is not None and rookie.age == 18

    # Data rather than objects (an export, a report): dicts or tuples of chosen columns.
    async with db.read_only() as session:
        heroes = Repository(Hero, session)
        rows = await heroes.rows(col(Hero.age) > 23, columns=["name", "age"])
        assert rows == [{"name": "Hero 0", "age": 40}, {"name": "Hero 4", "age": 24},
                        {"name": "Hero 5", "age": 25}]
        # order_by=(): no ORDER BY at all, where the order does not matter.
        assert len(await heroes.tuples(columns=["id"], order_by=())) == 7
